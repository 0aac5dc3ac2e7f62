/** HTML of the sandbox bank's portal. Every bank-side string is escaped. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="es"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Banco Sandbox</title>
<style>body{font-family:sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd}.amount{text-align:right}.error{color:#b00}</style>
</head><body><header><h1>Banco Sandbox</h1></header>${body}</body></html>`;
}

export function loginPage(options: { error?: 'invalid' | 'locked' | 'otp_locked'; expired?: boolean } = {}): string {
  const notices = [
    options.expired ? '<p id="session-expired">Su sesión expiró. Ingrese nuevamente.</p>' : '',
    options.error === 'invalid' ? '<p class="error" id="login-error">Usuario o contraseña incorrectos.</p>' : '',
    options.error === 'locked' ? '<p class="error" id="account-locked">Su acceso fue bloqueado por seguridad. Comuníquese con el banco.</p>' : '',
    options.error === 'otp_locked' ? '<p class="error" id="login-error">Demasiados códigos incorrectos. Ingrese nuevamente.</p>' : '',
  ].join('');
  return layout(
    'Ingreso',
    `${notices}<form id="login-form" method="post" action="/login">
<label>Usuario <input id="username" name="username" autocomplete="username"></label>
<label>Contraseña <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="login-button" type="submit">Ingresar</button></form>`,
  );
}

export function otpPage(options: { length: number; type: 'numeric' | 'alphanumeric'; error: boolean; resent: boolean }): string {
  const kind = options.type === 'numeric' ? 'numérico' : 'alfanumérico';
  return layout(
    'Código de seguridad',
    `${options.error ? '<p class="error" id="otp-error">Código incorrecto. Intente nuevamente.</p>' : ''}${options.resent ? '<p id="otp-resent">Enviamos un nuevo código.</p>' : ''}
<form id="otp-form" method="post" action="/otp">
<p id="otp-hint">Ingrese el código ${kind} de ${options.length} caracteres enviado a su teléfono.</p>
<input id="otp-code" name="code" maxlength="${options.length}" data-length="${options.length}" data-type="${options.type}" autocomplete="one-time-code">
<button id="otp-button" type="submit">Confirmar</button></form>
<form method="post" action="/otp/resend"><button id="otp-resend" type="submit">Reenviar código</button></form>`,
  );
}

export function homePage(name: string): string {
  return layout(
    'Inicio',
    `<p id="welcome">Bienvenido, ${escapeHtml(name)}.</p><nav><a id="movements-link" href="/movements">Movimientos</a>
<form method="post" action="/logout"><button id="logout" type="submit">Salir</button></form></nav>`,
  );
}

export type MovementRow = { date: string; description: string; sender: string | null; reference: string | null; amount: string; currency: string };

export function movementsPage(options: { layout: 'classic' | 'modern'; rows: MovementRow[]; nextHref: string | null; from: string; to: string; page: number }): string {
  const filter = `<p id="range">Desde ${escapeHtml(options.from)} hasta ${escapeHtml(options.to)} · página ${options.page}</p>`;
  const next = options.nextHref ? `<a id="next-page" href="${escapeHtml(options.nextHref)}">Siguiente</a>` : '';
  const logout = '<form method="post" action="/logout"><button id="logout" type="submit">Salir</button></form>';
  if (options.layout === 'modern') {
    // The "redesign": same data, other structure. Drivers written for the classic page must notice.
    const cards = options.rows
      .map(
        (r) => `<article class="mv-card"><span class="mv-when">${escapeHtml(r.date)}</span><span class="mv-what">${escapeHtml(r.description)}</span>
<span class="mv-who">${escapeHtml(r.sender ?? '')}</span><span class="mv-how-much">${escapeHtml(r.currency)} ${escapeHtml(r.amount)}</span></article>`,
      )
      .join('');
    return layout('Movimientos', `${filter}<section class="mv-list">${cards}</section>${next}${logout}`);
  }
  const body =
    options.rows.length === 0
      ? '<p id="no-movements">No hay movimientos en el período.</p>'
      : `<table id="movements"><thead><tr><th>Fecha</th><th>Descripción</th><th>Ordenante</th><th>Referencia</th><th>Importe</th><th>Moneda</th></tr></thead><tbody>${options.rows
          .map(
            (r) => `<tr class="movement"><td class="m-date">${escapeHtml(r.date)}</td><td class="m-desc">${escapeHtml(r.description)}</td><td class="m-sender">${escapeHtml(r.sender ?? '')}</td><td class="m-ref">${escapeHtml(r.reference ?? '')}</td><td class="m-amount amount">${escapeHtml(r.amount)}</td><td class="m-currency">${escapeHtml(r.currency)}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  return layout('Movimientos', `${filter}${body}<nav>${next}</nav>${logout}`);
}
