"""`opskit web`: server-rendered pages for the technician at the rack (a phone) and the
admin at the desk, over the inventory, the backup history and the last checks.

Modules: `settings` (settings.web: listen, users, proxy), `auth` (hashes, sessions,
Basic, throttle), `service` (each page's data, the JSON twin), `configrepo` (the backup
history through git), `lastrun` (the last monitor/firmware results, written by those
commands), `labels` and `pdf` (label sheets with QR codes), `app` (routes, HTML/JSON,
security headers), `server` (uvicorn). Nothing heavy is imported here: `monitor check`
imports `opskit.web.lastrun` on every run.
"""
