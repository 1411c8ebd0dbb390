/** The sample's only page: a form to send either email, with the outcome of the last send above it. */
export function homePage(notice?: { ok: boolean; message: string }): string {
  const banner = notice
    ? `<p class="${notice.ok ? 'ok' : 'error'}">${escapeHtml(notice.message)}</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>nestjs-email-workflow sample</title>
  <style>
    body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; color: #1f2933; }
    input { padding: .5rem; width: 18rem; } button { padding: .5rem .9rem; margin: .5rem .5rem 0 0; }
    .ok { color: #166534; } .error { color: #b91c1c; }
  </style>
</head>
<body>
  <h1>nestjs-email-workflow sample</h1>
  ${banner}
  <form method="post" action="/send-test">
    <label>Email address <input type="email" name="email" required placeholder="ada@example.com"></label><br>
    <button type="submit" formaction="/send-test">Send test email</button>
    <button type="submit" formaction="/send-verification">Send verification email</button>
  </form>
</body>
</html>
`;
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
