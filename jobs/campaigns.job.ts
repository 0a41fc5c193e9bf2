import type { Job } from 'bullmq';
import type { Database } from '../server/db/database.ts';
import type { Logger } from '../server/logger.ts';
import { pollOpenCampaigns, runCampaignSend } from '../server/services/campaigns.service.ts';
import type { PolicyCache } from '../server/services/tag-policy.service.ts';
import type { WecomClient } from '../server/wecom/client.ts';
import type { CampaignJobData, Queues } from './queues.ts';

export interface CampaignJobDeps {
  db: Database;
  policy: PolicyCache;
  wecom: WecomClient;
  queues: Queues;
  logger: Logger;
  adminUserIds: string[];
}

/** Reps confirm group messages in WeCom at their own pace; asking every 10 minutes keeps reports current. */
export const CAMPAIGN_POLL_EVERY_MS = 10 * 60_000;

/**
 * The `campaigns` queue. `send`: one campaign's audience becomes touches, tasks and add_msg_template
 * writes (authority re-checked now; a scheduled campaign arrives here at its time as a delayed job).
 * `poll` (repeatable): results of every open campaign.
 */
export function campaignProcessor(deps: CampaignJobDeps) {
  return async (job: Job<CampaignJobData>): Promise<void> => {
    if (job.name === 'poll') {
      const outcome = await pollOpenCampaigns(deps);
      if (outcome.updated) deps.logger.info({ campaigns: outcome.campaigns, updated: outcome.updated }, 'campaign results updated');
      for (const failure of outcome.failed) deps.logger.warn({ failure }, 'group-message results could not be read');
      return;
    }
    if (job.data.campaignId) await runCampaignSend(deps, job.data.campaignId);
  };
}

export async function scheduleCampaignPolling(queues: Queues): Promise<void> {
  await queues.campaigns.upsertJobScheduler('campaign-poll', { every: CAMPAIGN_POLL_EVERY_MS }, { name: 'poll', data: {} });
}
