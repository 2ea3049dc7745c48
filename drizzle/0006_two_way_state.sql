CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`outbox_id` integer NOT NULL,
	`link_id` text NOT NULL,
	`object_type` text NOT NULL,
	`crm` text NOT NULL,
	`record_id` text,
	`operation` text NOT NULL,
	`changes` text NOT NULL,
	`outcome` text NOT NULL,
	`http_status` integer,
	`error` text,
	`request_id` text,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_log_link` ON `audit_log` (`link_id`);--> statement-breakpoint
CREATE INDEX `audit_log_run` ON `audit_log` (`run_id`);--> statement-breakpoint
CREATE TABLE `conflicts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`link_id` text NOT NULL,
	`object_type` text NOT NULL,
	`field` text NOT NULL,
	`base_value` text,
	`hubspot_value` text NOT NULL,
	`hubspot_changed_at` text,
	`dynamics_value` text NOT NULL,
	`dynamics_changed_at` text,
	`opened_at` text NOT NULL,
	`run_id` integer NOT NULL,
	`resolved_at` text,
	`resolution` text,
	`resolved_value` text,
	`closed_at` text,
	`closed_run_id` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `conflicts_unsettled` ON `conflicts` (`link_id`,`field`) WHERE "conflicts"."closed_at" IS NULL;--> statement-breakpoint
CREATE INDEX `conflicts_open` ON `conflicts` (`object_type`) WHERE "conflicts"."resolved_at" IS NULL;--> statement-breakpoint
CREATE TABLE `entity_links` (
	`id` text PRIMARY KEY NOT NULL,
	`object_type` text NOT NULL,
	`hubspot_id` text,
	`dynamics_id` text,
	`matched_by` text NOT NULL,
	`match_key` text,
	`run_id` integer NOT NULL,
	`created_at` text NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE UNIQUE INDEX `entity_links_hubspot` ON `entity_links` (`object_type`,`hubspot_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `entity_links_dynamics` ON `entity_links` (`object_type`,`dynamics_id`);--> statement-breakpoint
CREATE TABLE `field_state` (
	`link_id` text NOT NULL,
	`field` text NOT NULL,
	`value` text NOT NULL,
	`agreed_at` text NOT NULL,
	`run_id` integer NOT NULL,
	PRIMARY KEY(`link_id`, `field`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`link_id` text NOT NULL,
	`object_type` text NOT NULL,
	`crm` text NOT NULL,
	`operation` text NOT NULL,
	`record_id` text,
	`properties` text NOT NULL,
	`agreed` text NOT NULL,
	`previous` text NOT NULL,
	`etag` text,
	`id_property` text,
	`match_key` text,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text NOT NULL,
	`last_error` text,
	`created_at` text NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE INDEX `outbox_due` ON `outbox` (`object_type`,`next_attempt_at`) WHERE "outbox"."status" = 'pending';--> statement-breakpoint
CREATE INDEX `outbox_link` ON `outbox` (`link_id`,`crm`) WHERE "outbox"."status" = 'pending';--> statement-breakpoint
CREATE INDEX `outbox_dead` ON `outbox` (`object_type`) WHERE "outbox"."status" = 'dead';--> statement-breakpoint
ALTER TABLE `sync_history` ADD `write_summary` text;