import { defineStore } from 'pinia';
import { api } from '../../shared/api.ts';

export interface JobStatus { id: string; kind: string; state: 'queued' | 'running' | 'completed' | 'failed'; done: number; total: number; error: string | null }
export interface TrackedJob { id: string; label: string; startedAt: number; status: JobStatus | null }

const STORAGE_KEY = 'wtg.admin.jobs';
const POLL_MS = 700;
const KEEP_FINISHED = 5;

function saved(): TrackedJob[] {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]') as TrackedJob[];
  } catch {
    return [];
  }
}

/**
 * Long actions (sync, bulk assignment, transfers, reassignments) run as server jobs; their ids are kept
 * in this browser, so progress survives leaving the page or reloading it, and polling resumes.
 */
export const useJobsStore = defineStore('jobs', {
  state: () => ({ jobs: saved(), timer: null as ReturnType<typeof setTimeout> | null }),
  getters: {
    running: (s) => s.jobs.filter((j) => !j.status || j.status.state === 'queued' || j.status.state === 'running'),
  },
  actions: {
    track(id: string, label: string): TrackedJob {
      const job: TrackedJob = { id, label, startedAt: Date.now(), status: null };
      this.jobs = [job, ...this.jobs.filter((j) => j.id !== id)];
      this.persist();
      this.poll();
      return job;
    },
    get(id: string): TrackedJob | undefined {
      return this.jobs.find((j) => j.id === id);
    },
    dismiss(id: string): void {
      this.jobs = this.jobs.filter((j) => j.id !== id);
      this.persist();
    },
    persist(): void {
      const finished = this.jobs.filter((j) => !this.running.includes(j)).slice(0, KEEP_FINISHED);
      this.jobs = [...this.running, ...finished];
      try {
        localStorage.setItem(STORAGE_KEY, JSON.stringify(this.jobs));
      } catch { /* storage may be blocked */ }
    },
    /** Polls every unfinished job until it completes or fails (GET /api/jobs/:id). */
    poll(): void {
      if (this.timer) return;
      const tick = async () => {
        this.timer = null;
        const pending = this.running;
        await Promise.all(pending.map(async (job) => {
          try {
            job.status = await api.get<JobStatus>(`/api/jobs/${encodeURIComponent(job.id)}`);
          } catch {
            job.status = { id: job.id, kind: '', state: 'failed', done: 0, total: 0, error: 'this job is no longer known to the server' };
          }
        }));
        this.persist();
        if (this.running.length) this.timer = setTimeout(() => void tick(), POLL_MS);
      };
      void tick();
    },
  },
});
