CREATE TABLE `records` (
	`source` text NOT NULL,
	`object_type` text NOT NULL,
	`source_id` text NOT NULL,
	`raw_json` text NOT NULL,
	`fields_json` text NOT NULL,
	`content_hash` text NOT NULL,
	`source_modified_at` text,
	`is_deleted` integer DEFAULT false NOT NULL,
	`deleted_at` text,
	`first_run_id` integer NOT NULL,
	`last_run_id` integer NOT NULL,
	PRIMARY KEY(`source`, `object_type`, `source_id`)
);
--> statement-breakpoint
CREATE INDEX `records_modified` ON `records` (`source`,`object_type`,`source_modified_at`);--> statement-breakpoint
CREATE TABLE `rejected_records` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`source` text NOT NULL,
	`object_type` text NOT NULL,
	`source_id` text,
	`raw_json` text NOT NULL,
	`reasons` text NOT NULL,
	`rejected_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rejected_records_object` ON `rejected_records` (`source`,`object_type`,`source_id`);--> statement-breakpoint
CREATE TABLE `sync_history` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`object_type` text NOT NULL,
	`crm_source` text NOT NULL,
	`sync_type` text NOT NULL,
	`status` text NOT NULL,
	`start_time` text NOT NULL,
	`end_time` text,
	`records_processed` integer DEFAULT 0 NOT NULL,
	`records_created` integer DEFAULT 0 NOT NULL,
	`records_updated` integer DEFAULT 0 NOT NULL,
	`records_unchanged` integer DEFAULT 0 NOT NULL,
	`records_deleted` integer DEFAULT 0 NOT NULL,
	`records_failed` integer DEFAULT 0 NOT NULL,
	`error_message` text,
	`performance_metrics` text,
	`configuration` text,
	`watermark` text,
	`checkpoint` text,
	`host` text,
	`pid` integer,
	`heartbeat_at` text
);
--> statement-breakpoint
CREATE INDEX `sync_history_object_status` ON `sync_history` (`crm_source`,`object_type`,`status`,`id`);