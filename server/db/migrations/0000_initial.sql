CREATE TABLE "app_admins" (
	"userid" text PRIMARY KEY NOT NULL,
	"granted_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "background_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"total" integer DEFAULT 0 NOT NULL,
	"error" text,
	"requested_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "customers" (
	"external_userid" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"type" integer DEFAULT 1 NOT NULL,
	"avatar" text,
	"gender" integer DEFAULT 0 NOT NULL,
	"corp_name" text,
	"corp_full_name" text,
	"position" text,
	"unionid" text,
	"owner_userid" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "departments" (
	"id" integer PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"name_en" text,
	"parent_id" integer,
	"order" bigint DEFAULT 0 NOT NULL,
	"removed_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "follow_relations" (
	"external_userid" text NOT NULL,
	"userid" text NOT NULL,
	"remark" text,
	"description" text,
	"added_at" bigint,
	"add_way" integer,
	"state" text,
	"oper_userid" text,
	"remark_corp_name" text,
	"remark_mobiles" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "follow_relations_external_userid_userid_pk" PRIMARY KEY("external_userid","userid")
);
--> statement-breakpoint
CREATE TABLE "inbox_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"dedupe_key" text NOT NULL,
	"event" text NOT NULL,
	"change_type" text,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"processed_at" timestamp with time zone,
	"duplicate_deliveries" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "member_departments" (
	"userid" text NOT NULL,
	"department_id" integer NOT NULL,
	"is_leader" boolean DEFAULT false NOT NULL,
	CONSTRAINT "member_departments_userid_department_id_pk" PRIMARY KEY("userid","department_id")
);
--> statement-breakpoint
CREATE TABLE "members" (
	"userid" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"position" text,
	"main_department" integer,
	"status" integer DEFAULT 1 NOT NULL,
	"left_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "oauth_states" (
	"state_hash" text PRIMARY KEY NOT NULL,
	"browser_hash" text NOT NULL,
	"return_to" text,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outgoing_writes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"api" text NOT NULL,
	"payload" jsonb NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"errcode" integer,
	"error" text,
	"result" jsonb,
	"requested_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "personal_tags" (
	"id" text PRIMARY KEY NOT NULL,
	"userid" text NOT NULL,
	"name" text NOT NULL,
	"group_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "relation_tag_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"external_userid" text NOT NULL,
	"userid" text NOT NULL,
	"added" jsonb NOT NULL,
	"removed" jsonb NOT NULL,
	"source" text NOT NULL,
	"inbox_event_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "relation_tags" (
	"external_userid" text NOT NULL,
	"userid" text NOT NULL,
	"tag_id" text NOT NULL,
	"kind" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "relation_tags_external_userid_userid_tag_id_pk" PRIMARY KEY("external_userid","userid","tag_id")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"userid" text NOT NULL,
	"csrf_token" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "strategies" (
	"strategy_id" integer PRIMARY KEY NOT NULL,
	"parent_id" integer,
	"name" text NOT NULL,
	"create_time" bigint,
	"deleted_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "strategy_ranges" (
	"strategy_id" integer NOT NULL,
	"range_key" text NOT NULL,
	CONSTRAINT "strategy_ranges_strategy_id_range_key_pk" PRIMARY KEY("strategy_id","range_key")
);
--> statement-breakpoint
CREATE TABLE "tag_groups" (
	"group_id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"order" bigint DEFAULT 0 NOT NULL,
	"create_time" bigint,
	"strategy_id" integer,
	"deleted_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tags" (
	"tag_id" text PRIMARY KEY NOT NULL,
	"group_id" text NOT NULL,
	"name" text NOT NULL,
	"order" bigint DEFAULT 0 NOT NULL,
	"create_time" bigint,
	"strategy_id" integer,
	"deleted_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "transfer_failures" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"external_userid" text NOT NULL,
	"takeover_userid" text NOT NULL,
	"reason" text NOT NULL,
	"inbox_event_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "customers_owner" ON "customers" USING btree ("owner_userid");--> statement-breakpoint
CREATE INDEX "follow_relations_member" ON "follow_relations" USING btree ("userid","status");--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_events_dedupe_key" ON "inbox_events" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "inbox_events_pending" ON "inbox_events" USING btree ("id") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "inbox_events_status" ON "inbox_events" USING btree ("status","id");--> statement-breakpoint
CREATE INDEX "member_departments_department" ON "member_departments" USING btree ("department_id");--> statement-breakpoint
CREATE INDEX "outgoing_writes_state" ON "outgoing_writes" USING btree ("state","id");--> statement-breakpoint
CREATE UNIQUE INDEX "personal_tags_owner_name" ON "personal_tags" USING btree ("userid","name");--> statement-breakpoint
CREATE INDEX "relation_tag_changes_customer" ON "relation_tag_changes" USING btree ("external_userid","id");--> statement-breakpoint
CREATE INDEX "relation_tags_tag" ON "relation_tags" USING btree ("tag_id");--> statement-breakpoint
CREATE INDEX "sessions_userid" ON "sessions" USING btree ("userid");--> statement-breakpoint
CREATE INDEX "tags_group" ON "tags" USING btree ("group_id");--> statement-breakpoint
CREATE INDEX "transfer_failures_customer" ON "transfer_failures" USING btree ("external_userid");