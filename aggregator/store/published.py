"""The rendered site kept in the database, so that publishing happens once per change,
not once per process: the worker that stored a change renders what it changed and
writes the files that differ, under the site lock and one new version; web servers poll
the newest version (a cheap query) and load only the files whose ETag they lack.

Part of the store (queries live only in this package); it returns our types.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from aggregator.store.models import OutputRow, SiteFileRow, SiteVersionRow
from aggregator.types import SiteFile

_CHUNK = 200


@dataclass(frozen=True, slots=True)
class PublishedOutput:
    """What the index page shows of an output, as last rendered."""

    name: str
    stories: int
    updated_at: datetime | None
    rendered_at: datetime | None


def site_version(session: Session) -> int:
    """The version of the newest publish that changed the site (0: never published)."""
    row = session.get(SiteVersionRow, 1)
    return row.version if row is not None else 0


def site_etags(session: Session) -> dict[str, str]:
    return dict(session.exec(select(SiteFileRow.path, SiteFileRow.etag)).all())


def site_files(session: Session, paths: Collection[str]) -> list[SiteFile]:
    wanted = sorted(paths)
    found = []
    for start in range(0, len(wanted), _CHUNK):
        for row in session.exec(select(SiteFileRow).where(
                col(SiteFileRow.path).in_(wanted[start:start + _CHUNK]))):
            found.append(SiteFile(path=row.path, body=row.body, gzip_body=row.gzip_body,
                                  etag=row.etag, last_modified=row.last_modified,
                                  media_type=row.media_type,
                                  content_security_policy=row.content_security_policy))
    return found


class SiteWriter:
    """A publish in progress, holding the site lock (``Store.publishing``): what it reads
    and writes here is what the next publish, in any process, starts from."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def outputs(self) -> dict[str, PublishedOutput]:
        return {row.name: PublishedOutput(row.name, row.stories, row.updated_at,
                                          row.rendered_at)
                for row in self.session.exec(select(OutputRow))}

    def write(self, files: Mapping[str, SiteFile], outputs: Collection[PublishedOutput],
              *, stale: Callable[[str], bool]) -> list[str]:
        """Store the files whose bytes changed and remove the stored paths ``stale``
        says are no longer part of the site (and not in ``files``), all under one new
        version; record what the index shows of the rendered ``outputs``. Returns the
        paths written."""
        session = self.session
        stored = site_etags(session)
        changed = [path for path, file in files.items() if stored.get(path) != file.etag]
        removed = [path for path in stored if path not in files and stale(path)]
        for published in outputs:
            session.execute(update(OutputRow).where(col(OutputRow.name) == published.name)
                            .values(stories=published.stories,
                                    updated_at=published.updated_at,
                                    rendered_at=published.rendered_at))
        if not changed and not removed:
            return changed
        version = site_version(session) + 1
        if version == 1:
            session.execute(insert(SiteVersionRow).values(id=1, version=version))
        else:
            session.execute(update(SiteVersionRow).where(col(SiteVersionRow.id) == 1)
                            .values(version=version))
        for start in range(0, len(removed), _CHUNK):
            session.execute(delete(SiteFileRow).where(
                col(SiteFileRow.path).in_(removed[start:start + _CHUNK])))
        rows = [{"path": path, "version": version, "etag": files[path].etag,
                 "last_modified": files[path].last_modified,
                 "media_type": files[path].media_type, "body": files[path].body,
                 "gzip_body": files[path].gzip_body,
                 "content_security_policy": files[path].content_security_policy}
                for path in changed]
        fresh = [row for row in rows if row["path"] not in stored]
        if fresh:
            session.execute(insert(SiteFileRow), fresh)
        for row in rows:
            if row["path"] in stored:
                session.execute(update(SiteFileRow).where(col(SiteFileRow.path) == row["path"])
                                .values(**{k: v for k, v in row.items() if k != "path"}))
        return sorted(changed)
