DROP INDEX `records_modified`;--> statement-breakpoint
CREATE INDEX `records_deleted` ON `records` (`source`,`object_type`) WHERE "records"."is_deleted" = 1;