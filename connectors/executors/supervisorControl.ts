import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from '../../engine/log.js';
import type { Metrics } from '../../engine/metrics.js';
import { decodeJson, encodeJson, type CommandReply } from './commands.js';
import type { Supervisor } from './supervisor.js';

/**
 * The supervisor's control channel: it answers restart requests on its own subject
 * (`resin.cmd.<host>.<component>`). A request naming a pid that is not the current
 * child is refused, so an alert about a process already restarted cannot restart its
 * successor. Malformed requests are answered with why, and counted.
 */
export function serveSupervisor(
  nc: NatsConnection, subject: string, supervisor: Supervisor, log: Logger, metrics: Metrics,
): Subscription {
  const served = (result: string) => metrics.inc('supervisor_requests', { result });
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      const reply = (r: CommandReply) => { if (msg.reply) msg.respond(encodeJson(r)); };
      const body = decodeJson(msg.data);
      if (!body || body.op !== 'restart') {
        served('bad_request');
        reply({ ok: false, detail: 'bad request: expected {"op":"restart",...}', duration_ms: 0 });
        return;
      }
      const pid = body.pid;
      if (typeof pid === 'number' && pid !== supervisor.pid) {
        served('stale_pid');
        reply({ ok: false, detail: `pid ${pid} is not the supervised child (now ${supervisor.pid})`, duration_ms: 0, old_pid: supervisor.pid });
        return;
      }
      supervisor.restart().then((r) => {
        served('restarted');
        log.info('restarted', { alert: body.alert_id, old_pid: r.oldPid, new_pid: r.newPid, ms: Math.round(r.durationMs), killed: r.killed });
        reply({
          ok: true, detail: `restarted pid ${r.oldPid} as ${r.newPid} in ${Math.round(r.durationMs)} ms${r.killed ? ' (killed after the grace period)' : ''}`,
          duration_ms: r.durationMs, old_pid: r.oldPid, new_pid: r.newPid,
        });
      }, (e: Error) => {
        served('failed');
        log.error('restart failed', { error: e.message });
        reply({ ok: false, detail: e.message, duration_ms: 0 });
      });
    },
  });
}
