"""Bringing another deployment's data in: ``sohoa import`` (the provinces' systems before the 2025
merger become one) and the generic JSON-lines manifest of systems that are not sohoa.

Sources (:mod:`.sohoa_source`, :mod:`.manifest`) read; one merge (:mod:`.merge`) writes, by the
same rules for both, with :mod:`.reception` (stations, batches) and :mod:`.extras` (the tables
that hang off dossiers, the originals received); :mod:`.run` orders it (blobs, records in chunks,
audit trail) so that it can be killed and run again, one run of a source at a time (:mod:`.lock`);
:mod:`.ledger` remembers what each source record became here, :mod:`.conflicts` lists and retries
what clashed; :mod:`.segments` keeps a source's audit trail, and those it had imported, verifiable
beside this one's.
"""

from storage.importer.agency_map import AgencyMap, load_agency_map
from storage.importer.ledger import Outcome, RecordKind
from storage.importer.run import ImportReport, run_import
from storage.importer.segments import verify_segments

__all__ = ["AgencyMap", "ImportReport", "Outcome", "RecordKind", "load_agency_map", "run_import", "verify_segments"]
