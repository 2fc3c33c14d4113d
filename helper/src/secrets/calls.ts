/** leashd's secret calls (SetSecret, ListSecrets, RemoveSecret): names out, values only in. */
import { sandboxEgress } from '../proxy/egress';
import type { SecretStore } from './store';

type Wrap = <Req, Res>(fn: (req: Req) => Res) => unknown;

function store(): SecretStore {
  const egress = sandboxEgress();
  if (!egress) throw new Error('this leashd runs without its proxy, so it holds no secrets');
  return egress.secrets;
}

export function secretCalls(unary: Wrap): Record<string, unknown> {
  return {
    setSecret: unary((req: { name: string; value: string }) => {
      store().set(req.name, req.value);
      return { names: store().names(), removed: false };
    }),
    listSecrets: unary(() => ({ names: store().names(), removed: false })),
    removeSecret: unary((req: { name: string }) => {
      const removed = store().remove(req.name);
      return { names: store().names(), removed };
    }),
  };
}
