/**
 * The request header a live page sends with the version it shows; the inbox answers 204 (no body, no
 * checks run) while nothing changed, and the whole page otherwise.
 */
export const LIVE_VERSION_HEADER = 'x-dev-inbox-version';

/** How often an open inbox asks for news, and how long it waits after a failed try (the app restarting). */
const POLL_MS = 1000;
const RETRY_MS = 5000;

/**
 * The pages' only script, static (nothing from an email goes into it):
 * - every `<time datetime="…">` is shown in the browser's locale and time zone with Intl; the server's
 *   text (ISO-like, UTC) stays when scripts are off;
 * - a page with `data-live-version` (the inbox) asks every second, with a plain short request, whether
 *   its version is still current, and swaps in the new `<main>` when it is not. Short polling rather
 *   than server-sent events: no request stays open, so `app.close()` is never held up by an open tab,
 *   and it works through any proxy. It pauses while the tab is hidden.
 */
export const PAGE_SCRIPT = `(function () {
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  function localise(root) {
    var times = root.querySelectorAll('time[datetime]');
    for (var i = 0; i < times.length; i++) {
      var when = new Date(times[i].getAttribute('datetime'));
      if (isNaN(when.getTime())) continue;
      times[i].title = times[i].getAttribute('datetime');
      times[i].textContent = format.format(when);
    }
  }
  localise(document);
  var marker = document.querySelector('[data-live-version]');
  if (!marker || !window.fetch || !window.DOMParser) return;
  var version = marker.getAttribute('data-live-version');
  function later(ms) { setTimeout(poll, ms); }
  function poll() {
    if (document.hidden) return later(${POLL_MS});
    var headers = {};
    headers['${LIVE_VERSION_HEADER}'] = version;
    fetch(location.href, { headers: headers, cache: 'no-store', credentials: 'same-origin' })
      .then(function (response) {
        if (response.status === 204) return null;
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (html) {
        if (html) {
          var next = new DOMParser().parseFromString(html, 'text/html');
          var main = next.querySelector('main');
          var nextMarker = next.querySelector('[data-live-version]');
          if (main && nextMarker) {
            version = nextMarker.getAttribute('data-live-version');
            var current = document.querySelector('main');
            var imported = document.importNode(main, true);
            current.parentNode.replaceChild(imported, current);
            localise(imported);
          }
        }
        later(${POLL_MS});
      }, function () { later(${RETRY_MS}); });
  }
  later(${POLL_MS});
})();`;
