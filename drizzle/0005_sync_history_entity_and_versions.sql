-- sync_history in its documented shape: sync_type is the entity (contacts, contacts:companies),
-- the way a run read moves to sync_mode. Rows keep their ids, so watermarks carry on.
CREATE TABLE `__new_sync_history` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`crm_source` text NOT NULL,
	`sync_type` text NOT NULL,
	`sync_mode` text NOT NULL,
	`status` text NOT NULL,
	`start_time` text NOT NULL,
	`end_time` text,
	`records_processed` integer DEFAULT 0 NOT NULL,
	`records_created` integer DEFAULT 0 NOT NULL,
	`records_updated` integer DEFAULT 0 NOT NULL,
	`records_failed` integer DEFAULT 0 NOT NULL,
	`error_message` text,
	`performance_metrics` text,
	`configuration` text,
	`records_unchanged` integer DEFAULT 0 NOT NULL,
	`records_deleted` integer DEFAULT 0 NOT NULL,
	`watermark` text,
	`checkpoint` text,
	`delta_link` text,
	`host` text,
	`pid` integer,
	`heartbeat_at` text
);--> statement-breakpoint
INSERT INTO `__new_sync_history` (`id`, `crm_source`, `sync_type`, `sync_mode`, `status`, `start_time`, `end_time`,
  `records_processed`, `records_created`, `records_updated`, `records_failed`, `error_message`, `performance_metrics`,
  `configuration`, `records_unchanged`, `records_deleted`, `watermark`, `checkpoint`, `delta_link`, `host`, `pid`, `heartbeat_at`)
SELECT `id`, `crm_source`, replace(`object_type`, '->', ':'),
  -- A read after a delta link was recorded as incremental; its mode is changes.
  CASE WHEN json_valid(`configuration`) AND json_extract(`configuration`, '$.strategy.mode') = 'changes' THEN 'changes' ELSE `sync_type` END,
  `status`, `start_time`, `end_time`,
  `records_processed`, `records_created`, `records_updated`, `records_failed`, `error_message`, `performance_metrics`,
  -- The strategy a failed run is resumed with names its read syncMode now.
  CASE WHEN json_valid(`configuration`) AND json_type(`configuration`, '$.strategy.syncType') IS NOT NULL
    THEN json_set(json_remove(`configuration`, '$.strategy.syncType'), '$.strategy.syncMode',
      CASE WHEN json_extract(`configuration`, '$.strategy.mode') = 'changes' THEN 'changes' ELSE json_extract(`configuration`, '$.strategy.syncType') END)
    ELSE `configuration` END, `records_unchanged`, `records_deleted`, `watermark`, `checkpoint`, `delta_link`, `host`, `pid`, `heartbeat_at`
FROM `sync_history`;--> statement-breakpoint
DROP TABLE `sync_history`;--> statement-breakpoint
ALTER TABLE `__new_sync_history` RENAME TO `sync_history`;--> statement-breakpoint
CREATE INDEX `sync_history_source_type_start` ON `sync_history` (`crm_source`,`sync_type`,`start_time` desc);--> statement-breakpoint
CREATE INDEX `sync_history_status_start` ON `sync_history` (`status`,`start_time` desc);--> statement-breakpoint
CREATE INDEX `sync_history_end` ON `sync_history` (`end_time` desc);--> statement-breakpoint
CREATE INDEX `sync_history_entity_status` ON `sync_history` (`crm_source`,`sync_type`,`status`,`id`);--> statement-breakpoint
ALTER TABLE `records` ADD `version_from` text;--> statement-breakpoint
ALTER TABLE `records` ADD `version_run_id` integer;--> statement-breakpoint
ALTER TABLE `records` ADD `fields_hash` text;--> statement-breakpoint
CREATE TABLE `past_versions` (
	`source` text NOT NULL,
	`object_type` text NOT NULL,
	`source_id` text NOT NULL,
	`valid_from` text NOT NULL,
	`valid_to` text NOT NULL,
	`content_hash` text NOT NULL,
	`fields_json` text NOT NULL,
	`run_id` integer NOT NULL,
	PRIMARY KEY(`source`, `object_type`, `source_id`, `valid_from`)
);--> statement-breakpoint
-- Each record's first version is the row as stored: from its modification time (or, without
-- one, the start of the run that first saved it). crmsync_content_hash is the hash crmsync
-- computes for fields_json (a function crmsync adds to its connection).
UPDATE `records` SET
  `version_from` = coalesce(`source_modified_at`, (SELECT h.`start_time` FROM `sync_history` h WHERE h.`id` = `records`.`first_run_id`),
    strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  `version_run_id` = `last_run_id`,
  `fields_hash` = crmsync_content_hash(`fields_json`);--> statement-breakpoint
-- A deleted record's version ended at its deletion.
INSERT INTO `past_versions` (`source`, `object_type`, `source_id`, `valid_from`, `valid_to`, `content_hash`, `fields_json`, `run_id`)
SELECT `source`, `object_type`, `source_id`, `version_from`, max(coalesce(`deleted_at`, `version_from`), `version_from`), `fields_hash`, `fields_json`, `version_run_id`
FROM `records` WHERE `is_deleted` = 1;--> statement-breakpoint
-- Every version of every record as one table: the past ones, and each live row's current one.
CREATE VIEW `record_versions` AS
SELECT `source`, `object_type`, `source_id`, `valid_from`, `valid_to`, 0 AS `is_current`, `content_hash`, `fields_json`, `run_id` FROM `past_versions`
UNION ALL
SELECT `source`, `object_type`, `source_id`, `version_from`, NULL, 1, `fields_hash`, `fields_json`, `version_run_id` FROM `records`
WHERE `is_deleted` = 0 AND `version_from` IS NOT NULL;
