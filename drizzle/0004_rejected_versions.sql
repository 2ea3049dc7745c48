ALTER TABLE `records` ADD `rejected_at` text;--> statement-breakpoint
ALTER TABLE `rejected_records` ADD `content_hash` text;--> statement-breakpoint
ALTER TABLE `rejected_records` ADD `resolved_at` text;--> statement-breakpoint
CREATE UNIQUE INDEX `rejected_records_version` ON `rejected_records` (`source`,`object_type`,`content_hash`);--> statement-breakpoint
CREATE INDEX `rejected_records_outstanding` ON `rejected_records` (`source`,`object_type`,`source_id`) WHERE "rejected_records"."resolved_at" IS NULL;--> statement-breakpoint
-- Rejections kept from before they were resolved: outstanding unless a later run saved the record, or it was deleted.
UPDATE `rejected_records` SET `resolved_at` = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE EXISTS (
  SELECT 1 FROM `records` r
  WHERE r.`source` = `rejected_records`.`source` AND r.`object_type` = `rejected_records`.`object_type` AND r.`source_id` = `rejected_records`.`source_id`
    AND (r.`is_deleted` = 1 OR r.`last_run_id` > (
      SELECT max(x.`run_id`) FROM `rejected_records` x
      WHERE x.`source` = r.`source` AND x.`object_type` = r.`object_type` AND x.`source_id` = r.`source_id`))
);--> statement-breakpoint
-- One row per version of a record: the one of the run that first rejected it.
DELETE FROM `rejected_records` WHERE `id` NOT IN (
  SELECT min(`id`) FROM `rejected_records` GROUP BY `source`, `object_type`, `source_id`, `raw_json`
);--> statement-breakpoint
UPDATE `records` SET `rejected_at` = (
  SELECT max(x.`rejected_at`) FROM `rejected_records` x
  WHERE x.`source` = `records`.`source` AND x.`object_type` = `records`.`object_type` AND x.`source_id` = `records`.`source_id` AND x.`resolved_at` IS NULL
)
WHERE (`source`, `object_type`, `source_id`) IN (SELECT `source`, `object_type`, `source_id` FROM `rejected_records` WHERE `resolved_at` IS NULL);
