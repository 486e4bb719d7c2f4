/** The daemon's answers on its control socket (SPEC §4 reload, status, kill, run). */
import type { Supervisor } from '../supervisor/supervisor.js';
import type { Task } from '../tasks/types.js';
import type { ControlRequest, ControlResponse, NextDaemonOptions } from './control-server.js';
import type { ReloadResult, StatusReport } from './status.js';

/** What the control socket may ask of the daemon. */
export interface Controllable {
  status(): StatusReport;
  reload(trigger: string): Promise<ReloadResult>;
  /** The tasks that apply to this host now. */
  tasks(): readonly Task[];
  readonly supervisor: Pick<Supervisor, 'snapshot' | 'killTask' | 'runNow'>;
  /** Issue 17: hands everything over to a next daemon (`restart`, `upgrade`); its two steps, asked by that daemon. */
  handover?(options?: NextDaemonOptions): Promise<ControlResponse>;
  giveOver?(pid: number): Promise<ControlResponse>;
  letGo?(pid: number): Promise<ControlResponse>;
}

export async function answerControl(daemon: Controllable, request: ControlRequest): Promise<ControlResponse> {
  switch (request.cmd) {
    case 'status':
      return { ok: true, status: daemon.status() };
    case 'reload': {
      const result = await daemon.reload('reload command');
      return result.ok ? { ok: true, reload: result } : { ok: false, error: 'task file rejected', reload: result };
    }
    case 'kill': {
      // A task removed from the file whose jobs still run can be killed too.
      const known = daemon.tasks().some((task) => task.id === request.name) || daemon.supervisor.snapshot().some((status) => status.id === request.name);
      if (!known) return { ok: false, error: `no task named "${request.name}"` };
      return { ok: true, killed: await daemon.supervisor.killTask(request.name) };
    }
    case 'handover':
      return daemon.handover?.(request.options) ?? { ok: false, error: 'this daemon cannot hand over' };
    case 'take-over':
      return daemon.giveOver?.(request.pid) ?? { ok: false, error: 'this daemon cannot hand over' };
    case 'taken':
      return daemon.letGo?.(request.pid) ?? { ok: false, error: 'this daemon cannot hand over' };
    case 'run': {
      const task = daemon.tasks().find((candidate) => candidate.id === request.name);
      if (!task) return { ok: false, error: `no task named "${request.name}" applies to this host` };
      if (task.type === 'daemon') return { ok: false, error: `"${request.name}" is a daemon task: it runs while its schedule matches` };
      const result = daemon.supervisor.runNow(task);
      if (result === 'queued') return { ok: true, started: true };
      if (result === 'waiting') return { ok: true, started: false, waiting: true };
      return { ok: false, error: `"${request.name}" already runs ${task.max} instance(s) (max)` };
    }
  }
}
