CREATE TABLE "member_managed_departments" (
	"userid" text NOT NULL,
	"department_id" integer NOT NULL,
	"granted_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "member_managed_departments_userid_department_id_pk" PRIMARY KEY("userid","department_id")
);
--> statement-breakpoint
ALTER TABLE "access_grants" ADD COLUMN "reviewed_by" text;--> statement-breakpoint
ALTER TABLE "access_grants" ADD COLUMN "revoked_by" text;--> statement-breakpoint
ALTER TABLE "access_grants" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "roles" ADD COLUMN "allow_emergency" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "access_grants_active" ON "access_grants" USING btree ("state","expires_at");--> statement-breakpoint
CREATE INDEX "audit_log_action" ON "audit_log" USING btree ("action","id");--> statement-breakpoint
CREATE INDEX "audit_log_at" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "customers_list_order" ON "customers" USING btree ("created_at" DESC NULLS FIRST,"external_userid");--> statement-breakpoint
CREATE INDEX "customers_pool" ON "customers" USING btree ("pool_department_id","created_at" DESC NULLS FIRST,"external_userid") WHERE in_pool_since is not null;--> statement-breakpoint
CREATE INDEX "departments_parent" ON "departments" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "follow_relations_member_active" ON "follow_relations" USING btree ("userid","external_userid") WHERE status = 'active';--> statement-breakpoint
DROP INDEX "customers_owner";--> statement-breakpoint
CREATE INDEX "customers_owner" ON "customers" USING btree ("owner_userid","created_at" DESC NULLS FIRST,"external_userid");--> statement-breakpoint
CREATE INDEX "customers_corp_pool" ON "customers" USING btree ("created_at" DESC NULLS FIRST,"external_userid") WHERE in_pool_since is not null and pool_department_id is null;