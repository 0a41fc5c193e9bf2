CREATE TABLE "campaign_tasks" (
	"campaign_id" text NOT NULL,
	"sender" text NOT NULL,
	"department_id" integer,
	"customers" integer NOT NULL,
	"write_ids" jsonb NOT NULL,
	"msgids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"wecom_status" integer,
	"polled_at" timestamp with time zone,
	CONSTRAINT "campaign_tasks_campaign_id_sender_pk" PRIMARY KEY("campaign_id","sender")
);
--> statement-breakpoint
CREATE TABLE "campaign_touches" (
	"campaign_id" text NOT NULL,
	"external_userid" text NOT NULL,
	"sender" text NOT NULL,
	"department_id" integer,
	"selected_by" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"sent_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_touches_campaign_id_external_userid_pk" PRIMARY KEY("campaign_id","external_userid")
);
--> statement-breakpoint
CREATE TABLE "campaigns" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_by" text NOT NULL,
	"audience" jsonb NOT NULL,
	"content" jsonb NOT NULL,
	"state" text DEFAULT 'draft' NOT NULL,
	"scheduled_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"tag_snapshot" jsonb,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "materials" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"title" text NOT NULL,
	"content" jsonb NOT NULL,
	"tag_group_ids" jsonb NOT NULL,
	"department_id" integer,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "campaign_touches_customer" ON "campaign_touches" USING btree ("external_userid");--> statement-breakpoint
CREATE INDEX "campaign_touches_sender" ON "campaign_touches" USING btree ("campaign_id","sender");--> statement-breakpoint
CREATE INDEX "campaigns_creator" ON "campaigns" USING btree ("created_by","created_at");--> statement-breakpoint
CREATE INDEX "materials_department" ON "materials" USING btree ("department_id");--> statement-breakpoint
CREATE INDEX "relation_tags_tag_customer" ON "relation_tags" USING btree ("tag_id","external_userid");