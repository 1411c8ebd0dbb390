/** The whole stylesheet, served at /assets/app.css. Plain CSS, no framework. */
export const STYLESHEET = `
:root {
  --ink: #1f2937;
  --muted: #6b7280;
  --line: #e5e7eb;
  --page: #f3f4f6;
  --card: #ffffff;
  --brand: #2563eb;
  --brand-dark: #1d4ed8;
  --ok-bg: #ecfdf5; --ok-ink: #065f46; --ok-line: #a7f3d0;
  --warn-bg: #fffbeb; --warn-ink: #92400e; --warn-line: #fde68a;
  --bad-bg: #fef2f2; --bad-ink: #991b1b; --bad-line: #fecaca;
  --radius: 10px;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  flex-direction: column;
  background: var(--page);
  color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--brand); }
a:hover { color: var(--brand-dark); }

.topbar {
  display: flex;
  align-items: center;
  justify-content: space-between;
  gap: 1rem;
  padding: .75rem 1.25rem;
  background: var(--card);
  border-bottom: 1px solid var(--line);
}
.brand { font-weight: 700; font-size: 1.1rem; color: var(--ink); text-decoration: none; }
.brand::before { content: "✉"; color: var(--brand); margin-right: .4rem; }
.topbar nav { display: flex; align-items: center; gap: 1rem; font-size: .95rem; }
.topbar nav form { margin: 0; }

main {
  width: 100%;
  max-width: 30rem;
  margin: 2.5rem auto;
  padding: 2rem 1.75rem;
  background: var(--card);
  border: 1px solid var(--line);
  border-radius: var(--radius);
  box-shadow: 0 1px 2px rgb(0 0 0 / 4%);
}
h1 { margin: 0 0 .5rem; font-size: 1.5rem; line-height: 1.25; }
p { margin: .75rem 0; }
.lead { color: var(--muted); margin-top: 0; }
.small { font-size: .9rem; color: var(--muted); }

form.stack { display: grid; gap: 1rem; margin-top: 1.25rem; }
label { display: grid; gap: .3rem; font-weight: 600; font-size: .95rem; }
label .hint { font-weight: 400; color: var(--muted); font-size: .85rem; }
input[type=text], input[type=email], input[type=password], select {
  width: 100%;
  padding: .6rem .75rem;
  font: inherit;
  font-weight: 400;
  color: inherit;
  background: #fff;
  border: 1px solid #d1d5db;
  border-radius: 8px;
}
input:focus { outline: 2px solid var(--brand); outline-offset: 1px; border-color: var(--brand); }

.button, button {
  display: inline-block;
  padding: .65rem 1.1rem;
  font: inherit;
  font-weight: 600;
  text-align: center;
  text-decoration: none;
  color: #fff;
  background: var(--brand);
  border: 1px solid var(--brand);
  border-radius: 8px;
  cursor: pointer;
}
.button:hover, button:hover { background: var(--brand-dark); border-color: var(--brand-dark); color: #fff; }
.button.secondary, button.secondary { color: var(--brand); background: #fff; border-color: #c7d2fe; }
.button.secondary:hover, button.secondary:hover { background: #eef2ff; color: var(--brand-dark); }
button.link { padding: 0; color: var(--brand); background: none; border: 0; font-weight: 400; text-decoration: underline; }
button.link:hover { color: var(--brand-dark); background: none; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin-top: 1.25rem; }

.notice { margin: 1rem 0; padding: .75rem 1rem; border: 1px solid; border-radius: 8px; }
.notice.ok { background: var(--ok-bg); color: var(--ok-ink); border-color: var(--ok-line); }
.notice.warn { background: var(--warn-bg); color: var(--warn-ink); border-color: var(--warn-line); }
.notice.bad { background: var(--bad-bg); color: var(--bad-ink); border-color: var(--bad-line); }
.notice p { margin: .25rem 0; }
.notice form { margin: .6rem 0 .25rem; }

.badge { display: inline-block; padding: .1rem .6rem; border-radius: 999px; font-size: .85rem; font-weight: 600; }
.badge.ok { background: var(--ok-bg); color: var(--ok-ink); }
.badge.warn { background: var(--warn-bg); color: var(--warn-ink); }

input.code { font-size: 1.4rem; letter-spacing: .3em; font-variant-numeric: tabular-nums; }
form.inline { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin-top: .75rem; }
form.inline label { flex: 1 1 12rem; }
h2 { margin: 1.75rem 0 .25rem; font-size: 1.1rem; }
.or { margin: 1.25rem 0 0; color: var(--muted); font-size: .9rem; text-align: center; }

dl.details { display: grid; grid-template-columns: max-content 1fr; gap: .5rem 1.25rem; margin: 1.25rem 0; }
dl.details dt { color: var(--muted); }
dl.details dd { margin: 0; overflow-wrap: anywhere; }

.devtools {
  margin-top: auto;
  padding: 1rem 1.25rem;
  text-align: center;
  font-size: .85rem;
  color: var(--muted);
}
.devtools a { margin: 0 .4rem; }

@media (max-width: 34rem) {
  main { margin: 0; border: 0; border-radius: 0; box-shadow: none; padding: 1.5rem 1.25rem; }
  .actions .button, .actions button { width: 100%; }
}
`;

/** The app's icon, served at /favicon.ico: a blue envelope. */
export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect x="2" y="6" width="28" height="20" rx="3" fill="#2563eb"/>
<path d="M4 9l12 9 12-9" fill="none" stroke="#fff" stroke-width="2.5" stroke-linejoin="round"/>
</svg>
`;
