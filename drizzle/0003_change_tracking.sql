CREATE TABLE `full_read_seen` (
	`source` text NOT NULL,
	`object_type` text NOT NULL,
	`source_id` text NOT NULL,
	PRIMARY KEY(`source`, `object_type`, `source_id`)
);
--> statement-breakpoint
ALTER TABLE `sync_history` ADD `delta_link` text;