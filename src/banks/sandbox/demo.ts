import type { SandboxBank } from './bank-server.js';
import { addDays } from '../../sessions/day-range.js';

/**
 * Demo data for the sandbox started inside the service: `demo` / `demo` logs in directly,
 * `demo-otp` / `demo` asks a 6-digit code (read it "from the phone":
 * GET <sandbox>/sandbox/users/demo-otp/otp).
 */
export function seedDemo(bank: SandboxBank, now = new Date()): void {
  const today = now.toISOString().slice(0, 10);
  const at = (daysAgo: number, time: string) => `${addDays(today, -daysAgo)}T${time}:00Z`;
  const movements = [
    { at: at(0, '13:05'), amount: '1500.00', sender: 'José Pérez', description: 'Transferencia recibida', reference: 'TRF-1001' },
    { at: at(0, '14:40'), amount: '820.50', sender: 'Comercial Ñandú S.A.', description: 'Transferencia recibida', reference: 'TRF-1002' },
    { at: at(1, '22:55'), amount: '15200.00', sender: 'María Fernández', description: 'Pago factura 0042', reference: null },
    { at: at(1, '10:12'), amount: '-300.00', sender: null, description: 'Comisión mantenimiento', reference: null },
    { at: at(2, '16:30'), amount: '4999.99', sender: 'ACME Uruguay SRL', description: 'Transferencia recibida', reference: 'TRF-0998' },
  ];
  for (const username of ['demo', 'demo-otp']) {
    bank.addUser({ username, password: 'demo', name: 'Cliente Demo', otp: username === 'demo-otp' ? { length: 6, type: 'numeric' } : null });
    bank.addMovements(username, movements);
  }
}
