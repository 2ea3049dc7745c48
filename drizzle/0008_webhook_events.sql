CREATE TABLE `webhook_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`source` text NOT NULL,
	`event_id` text NOT NULL,
	`kind` text NOT NULL,
	`object_type` text,
	`object_id` text,
	`occurred_at` text,
	`received_at` text NOT NULL,
	`payload` text NOT NULL,
	`processed_at` text,
	`outcome` text,
	`run_id` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_events_source_event` ON `webhook_events` (`source`,`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_events_waiting` ON `webhook_events` (`processed_at`,`id`);