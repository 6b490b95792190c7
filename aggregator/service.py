"""The long-running service: APScheduler jobs around the core, and hot config reload.

One Service, two roles, each a few interval jobs (not one per feed: when a source is due
is data in the store). ``aggregator worker`` runs the fetch role, ``aggregator serve``
the serve role, ``aggregator run`` both in one process. Any number of each share one
database; the site goes from the workers to the web servers through it.

The fetch role (a worker):

- ``reload``  every 2 s: re-read feeds.yaml if it changed; a broken edit is logged with
  file:line and the last good config stays in force, and so does it when the file is
  deleted or emptied; a config the database could not take is applied again.
- ``update``  every ``TICK``: claim due sources, fetch and store them, then publish the
  outputs the new content touched into the database (site.publish_site).
- ``publish`` every minute: re-render the outputs with a ``max_age`` (time alone drops
  their old stories) that no worker rendered within the minute.
- ``prune``   every hour: drop the near-duplicate band keys older than the matching
  window, so the index stays the window's size.
- ``websub``  every minute (and after an update or a reload): subscribe to the hubs our
  sources announce, renew leases, unsubscribe removed sources (``websub.Subscriber``);
  a push the web app takes is republished at once.
- ``retention`` daily (first a few minutes after start), when ``settings.retention`` is
  set: prune the stories unchanged for that long, in batches (``update.apply_retention``).

The serve role (a web server):

- ``follow``  every second: when the site's version in the database moved, load the
  files whose ETag changed into the SiteCache the web app serves. It renders nothing on
  a schedule; a WebSub push its callback takes is stored and published at once, as a
  worker's update would be.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from aggregator.clock import utc_now
from aggregator.config import Config, load_config
from aggregator.exceptions import AggregatorError, ConfigError
from aggregator.publish.formats import site_url
from aggregator.site import outputs_of_sources, publish_site
from aggregator.store import Store
from aggregator.types import Outcome, SiteFile
from aggregator.update import apply_retention, prune_index, update_sources
from aggregator.web import Health, Heartbeat, SiteCache, health_check
from aggregator.websub import Subscriber, ping_hub

log = logging.getLogger(__name__)
TICK_SECONDS = 10
RELOAD_SECONDS = 2
REPUBLISH_SECONDS = 60
PRUNE_SECONDS = 3600
FOLLOW_SECONDS = 1
WEBSUB_SECONDS = 60
RETENTION_SECONDS = 86400
RETENTION_DELAY = timedelta(minutes=5)  # the first retention run, after start


class Service:
    """The fetch role keeps the store in step with feeds.yaml, polls due sources and
    publishes what changed into the database; the serve role follows the published site
    into ``cache``. ``aggregator run`` has both."""

    def __init__(self, config_path: str, config: Config, store: Store,
                 cache: SiteCache | None = None, *, fetch: bool = True,
                 serve: bool = True) -> None:
        self.config_path = Path(config_path)
        self.config = config
        self.store = store
        self.fetch = fetch
        self.serve = serve
        self.cache = cache or SiteCache(int(config.settings.cache_max_age.total_seconds()))
        self._config_digest = self._digest()
        self._unsynced = False  # self.config is not in the database yet: sync on every reload
        self._missing = False  # feeds.yaml is gone (logged once)
        self._published_once = False  # no ping for what was already published at start
        self._site_version: int | None = None  # of the files in self.cache
        self._follow_failed = False  # logged once until the database answers again
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self.heartbeat = Heartbeat(utc_now())
        # a web server alone has no update to tick: its /healthz checks the database only
        self._health = health_check(store, self.heartbeat if fetch else None)
        # the web app's WebSub callback: pushes are stored, then republished
        self.subscriber = Subscriber(store, lambda: self.config, on_stored=self._publish_soon)

    def health(self) -> Health:
        """/healthz: the database answers, and the scheduler ticked lately."""
        return self._health()

    def _publish_soon(self) -> None:
        self._scheduler.add_job(self.publish, id="publish-after-push", replace_existing=True)

    def _websub_soon(self) -> None:
        self._scheduler.add_job(self.maintain_subscriptions, id="websub-now",
                                replace_existing=True)

    def maintain_subscriptions(self) -> None:
        """Subscribe, renew and unsubscribe at the hubs our sources announce."""
        try:
            self.subscriber.maintain()
        except AggregatorError as error:
            log.error("WebSub subscriptions not updated: %s", error)

    def _digest(self) -> str | None:
        try:
            return hashlib.sha256(self.config_path.read_bytes()).hexdigest()
        except OSError:
            return None

    def sync(self) -> None:
        self.store.sync_sources(self.config.sources, self.config.settings.poll_interval,
                                utc_now())

    def publish(self, outputs: list[str] | None = None, *,
                rendered_before: datetime | None = None) -> None:
        """Render every output (or ``outputs``; see site.publish_site) into the database;
        ping the WebSub hub for the first-page feeds that changed."""
        config = self.config
        try:
            changed = publish_site(self.store, config, utc_now(), outputs=outputs,
                                   rendered_before=rendered_before)
        except AggregatorError as error:
            log.error("publishing failed: %s", error)
            return
        hub = config.settings.websub_hub
        topics = [site_url(config.settings.base_url, path) for path in changed
                  if SiteFile.is_feed_path(path) and ".page" not in path]
        if hub and topics and self._published_once:
            self._scheduler.add_job(ping_hub, args=(hub, topics))
        self._published_once = True
        if self.serve:  # this process serves too: now, not at the next poll
            self.follow()

    def follow(self) -> bool:
        """Load what the workers published since the last look into the cache. Returns
        True when the cache changed."""
        try:
            version = self.store.site_version()
            if version == self._site_version:
                return False
            etags = self.store.site_etags()
            wanted = [path for path, etag in etags.items()
                      if (held := self.cache.get(path)) is None or held.etag != etag]
            loaded = {f.path: f for f in self.store.site_files(wanted)}
        except AggregatorError as error:
            if not self._follow_failed:
                log.error("could not read the published site, serving the last one: %s",
                          error)
            self._follow_failed = True
            return False
        self._follow_failed = False
        files = {}
        for path in etags:
            file = loaded.get(path) or self.cache.get(path)
            if file is not None:
                files[path] = file
        self.cache.replace(files)
        self._site_version = version
        return True

    def republish_aging(self) -> None:
        """Re-render the outputs with a max_age (time alone drops their old stories),
        unless another worker did within the minute."""
        aging = [o.name for o in self.config.outputs if o.max_age is not None]
        if aging:
            self.publish(aging, rendered_before=utc_now() - timedelta(
                seconds=REPUBLISH_SECONDS))

    def reload_config(self) -> bool:
        """Pick up an edited feeds.yaml. Returns True when a new config took effect.

        A config the database could not take is applied again on every call until it
        is; a missing file, or one that would remove every source and output (an editor
        that truncates before writing), leaves the last good config in force."""
        digest = self._digest()
        if digest is None:
            if not self._missing:
                log.error("%s is missing; keeping the last good config", self.config_path)
            self._missing = True
            return False
        self._missing = False
        if digest == self._config_digest and not self._unsynced:
            return False
        if digest != self._config_digest:
            self._config_digest = digest
            try:
                config = load_config(self.config_path)
            except ConfigError as error:
                log.error("feeds.yaml not reloaded, keeping the last good config: %s", error)
                return False
            if not config.sources and not config.outputs and (
                    self.config.sources or self.config.outputs):
                log.warning("feeds.yaml not reloaded: it has no sources and no outputs "
                            "(restart to apply it); keeping the last good config")
                return False
            if config.settings.database != self.config.settings.database:
                log.warning("settings.database changed: restart to use the new database")
            self.config = config  # one reference swap: a running update keeps its snapshot
        try:
            self.sync()
        except AggregatorError as error:
            if not self._unsynced:
                log.error("could not apply the new feeds.yaml, retrying: %s", error)
            self._unsynced = True
            return False
        self._unsynced = False
        self.publish()
        log.info("reloaded %s: %d sources, %d outputs", self.config_path,
                 len(self.config.sources), len(self.config.outputs))
        # New sources are due now; fetch them at once, beside any update still running
        # (leases keep the two from taking the same source).
        self._scheduler.add_job(self.update_due, id="update-after-reload",
                                replace_existing=True)
        self._websub_soon()  # removed sources are unsubscribed; never blocks the sync
        return True

    def prune(self) -> None:
        """Keep the near-duplicate index the size of the matching window."""
        try:
            dropped = prune_index(self.store, utc_now())
        except AggregatorError as error:
            log.error("pruning the near-duplicate index failed: %s", error)
            return
        if dropped:
            log.info("pruned %d near-duplicate index rows older than the window", dropped)

    def retain(self) -> None:
        """Prune the stories older than settings.retention (off when it is not set)."""
        try:
            report = apply_retention(self.store, self.config, utc_now())
        except AggregatorError as error:
            log.error("pruning old stories failed: %s", error)
            return
        if report is not None and (report.stories or report.tombstones_expired):
            log.info("pruned %d stories (%d items, %d keys) past the retention; "
                     "%d tombstones expired", report.stories, report.items, report.keys,
                     report.tombstones_expired)
        if report is not None and report.stories:
            self.publish()

    def update_due(self) -> None:
        config = self.config
        started = utc_now()
        self.heartbeat.beat(started)
        try:  # a long update beats at each source it finishes
            results = update_sources(self.store, config, due_only=True,
                                     on_result=lambda _: self.heartbeat.beat(utc_now()))
        except AggregatorError as error:
            log.error("update failed: %s", error)
            return
        for result in results:
            fields = {"source": result.source, "outcome": result.outcome.value,
                      "duration": round(result.seconds, 3) if result.seconds else None}
            if result.error:
                log.warning("%s: %s", result.source, result.error,
                            extra={**fields, "error_kind": result.error.kind})
            elif result.new or result.updated:
                log.info("%s: %d new, %d updated", result.source, result.new, result.updated,
                         extra={**fields, "new": result.new, "updated": result.updated})
            if result.moved_to:
                log.warning("%s moved permanently to %s: update its url in feeds.yaml",
                            result.source, result.moved_to,
                            extra={**fields, "moved_to": result.moved_to})
        changed = {r.source for r in results if r.outcome is Outcome.OK}
        if changed:  # publish the outputs this update touched, once, for every web server
            self._websub_soon()  # a new body may announce a hub
            try:
                changed |= self.store.sources_sharing_stories(changed, started)
            except AggregatorError as error:
                log.error("publishing failed: %s", error)
                return
            self.publish(outputs_of_sources(config, changed))

    def start(self) -> None:
        """Start the jobs of this service's roles. A worker syncs the sources and renders
        every output first (the config may have changed while nothing ran); a web server
        loads the published site first."""
        if self.fetch:
            self.sync()
            self.publish()
            self._scheduler.add_job(self.update_due, "interval", seconds=TICK_SECONDS,
                                    id="update", next_run_time=utc_now(), max_instances=1,
                                    coalesce=True)
            self._scheduler.add_job(self.reload_config, "interval", seconds=RELOAD_SECONDS,
                                    id="reload", max_instances=1, coalesce=True)
            self._scheduler.add_job(self.republish_aging, "interval",
                                    seconds=REPUBLISH_SECONDS, id="publish",
                                    max_instances=1, coalesce=True)
            self._scheduler.add_job(self.prune, "interval", seconds=PRUNE_SECONDS,
                                    id="prune", max_instances=1, coalesce=True)
            self._scheduler.add_job(self.maintain_subscriptions, "interval",
                                    seconds=WEBSUB_SECONDS, id="websub",
                                    next_run_time=utc_now(), max_instances=1, coalesce=True)
            # checked at each run, so a reload that sets settings.retention takes effect
            self._scheduler.add_job(self.retain, "interval", seconds=RETENTION_SECONDS,
                                    id="retention",
                                    next_run_time=utc_now() + RETENTION_DELAY,
                                    max_instances=1, coalesce=True)
        if self.serve:
            self.follow()
            self._scheduler.add_job(self.follow, "interval", seconds=FOLLOW_SECONDS,
                                    id="follow", max_instances=1, coalesce=True)
        self._scheduler.start()

    def stop(self) -> None:
        """Let the running job finish (each fetch is bounded by its timeout), then stop."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
