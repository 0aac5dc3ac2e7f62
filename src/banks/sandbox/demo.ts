import type { SandboxBank } from './bank-server.js';

/**
 * Demo data for the sandbox started inside the service: `demo` / `demo` logs in directly,
 * `demo-otp` / `demo` asks a 6-digit code (read it "from the phone":
 * GET <sandbox>/sandbox/users/demo-otp/otp). Both see the same five movements, from the hour
 * before seeding back to two days before it: an account added soon after reads all five
 * whatever the hour (dates fixed to the calendar day put "today's" transfers in the future
 * before midday UTC, outside the read).
 */
export const DEMO_USERS = 'demo users: demo/demo, and demo-otp/demo, which asks a 6-digit code';

export function seedDemo(bank: SandboxBank, now = new Date()): void {
  const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000).toISOString();
  const movements = [
    { at: hoursAgo(1), amount: '1500.00', sender: 'José Pérez', description: 'Transferencia recibida', reference: 'TRF-1001' },
    { at: hoursAgo(2.5), amount: '820.50', sender: 'Comercial Ñandú S.A.', description: 'Transferencia recibida', reference: 'TRF-1002' },
    { at: hoursAgo(26), amount: '15200.00', sender: 'María Fernández', description: 'Pago factura 0042', reference: null },
    { at: hoursAgo(33), amount: '-300.00', sender: null, description: 'Comisión mantenimiento', reference: null },
    { at: hoursAgo(50), amount: '4999.99', sender: 'ACME Uruguay SRL', description: 'Transferencia recibida', reference: 'TRF-0998' },
  ];
  for (const username of ['demo', 'demo-otp']) {
    bank.addUser({ username, password: 'demo', name: 'Cliente Demo', otp: username === 'demo-otp' ? { length: 6, type: 'numeric' } : null });
    bank.addMovements(username, movements);
  }
}
