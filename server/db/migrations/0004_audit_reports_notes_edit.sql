CREATE TABLE "audit_reports" (
	"month" text PRIMARY KEY NOT NULL,
	"generated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"generated_by" text,
	"entries" integer NOT NULL,
	"first_entry_id" bigint,
	"last_entry_id" bigint,
	"summary" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "follow_up_notes" ADD COLUMN "updated_at" timestamp with time zone;