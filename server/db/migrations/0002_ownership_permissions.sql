CREATE TABLE "access_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"requester" text NOT NULL,
	"approver" text,
	"actions" jsonb NOT NULL,
	"customer_ids" jsonb,
	"department_id" integer,
	"reason" text NOT NULL,
	"state" text DEFAULT 'requested' NOT NULL,
	"emergency" boolean DEFAULT false NOT NULL,
	"duration_seconds" integer NOT NULL,
	"starts_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone,
	"reviewed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "export_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"requested_by" text NOT NULL,
	"format" text NOT NULL,
	"filter" jsonb NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"row_count" integer,
	"estimated_rows" integer,
	"approver" text,
	"file_path" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "follow_up_notes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"external_userid" text NOT NULL,
	"author" text NOT NULL,
	"content" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "owner_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"external_userid" text NOT NULL,
	"from_userid" text,
	"to_userid" text,
	"reason" text NOT NULL,
	"actor" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "transfer_batches" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"handover_userid" text NOT NULL,
	"takeover_userid" text NOT NULL,
	"requested_by" text,
	"background_job_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "transfer_items" (
	"batch_id" text NOT NULL,
	"external_userid" text NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"errcode" integer,
	"error" text,
	"takeover_time" bigint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "transfer_items_batch_id_external_userid_pk" PRIMARY KEY("batch_id","external_userid")
);
--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "last_activity_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "in_pool_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "pool_department_id" integer;--> statement-breakpoint
ALTER TABLE "members" ADD COLUMN "probation" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "members" ADD COLUMN "probation_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "view_as_userid" text;--> statement-breakpoint
CREATE INDEX "access_grants_requester" ON "access_grants" USING btree ("requester","state");--> statement-breakpoint
CREATE INDEX "follow_up_notes_customer" ON "follow_up_notes" USING btree ("external_userid","id");--> statement-breakpoint
CREATE INDEX "owner_history_customer" ON "owner_history" USING btree ("external_userid","id");--> statement-breakpoint
CREATE INDEX "owner_history_claims" ON "owner_history" USING btree ("actor","reason","created_at");--> statement-breakpoint
CREATE INDEX "transfer_items_customer" ON "transfer_items" USING btree ("external_userid");--> statement-breakpoint
CREATE INDEX "transfer_items_state" ON "transfer_items" USING btree ("state");