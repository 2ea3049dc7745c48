CREATE TABLE `reconciliation_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`object_type` text NOT NULL,
	`source` text NOT NULL,
	`started_at` text NOT NULL,
	`ended_at` text,
	`status` text NOT NULL,
	`fix` integer DEFAULT false NOT NULL,
	`source_records` integer,
	`local_records` integer,
	`missing` integer DEFAULT 0 NOT NULL,
	`gone` integer DEFAULT 0 NOT NULL,
	`stale` integer DEFAULT 0 NOT NULL,
	`pairs_compared` integer,
	`pair_drift` integer DEFAULT 0 NOT NULL,
	`pair_fields` text,
	`fixed` integer DEFAULT 0 NOT NULL,
	`fix_run_id` integer,
	`pair_run_id` integer,
	`requests` integer DEFAULT 0 NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `reconciliation_runs_object` ON `reconciliation_runs` (`object_type`,`source`,`id`);