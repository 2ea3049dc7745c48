CREATE TABLE `associations` (
	`source` text NOT NULL,
	`from_object` text NOT NULL,
	`from_id` text NOT NULL,
	`to_object` text NOT NULL,
	`to_id` text NOT NULL,
	`type_id` integer NOT NULL,
	`category` text NOT NULL,
	`label` text,
	`first_run_id` integer NOT NULL,
	PRIMARY KEY(`source`, `from_object`, `to_object`, `from_id`, `to_id`, `type_id`)
);
--> statement-breakpoint
CREATE INDEX `associations_to` ON `associations` (`source`,`to_object`,`to_id`);