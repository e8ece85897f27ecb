"""`straatstem governance`: governance documents generated from the running configuration.

Writes, per deployment (never committed; see ops/governance/README.md):
- algoritmeregister/<slug>/{heatmap,chatbot}.{json,md}: Algoritmeregister entries (publication
  standard 1.0) for the heatmap releases and the deliberation chatbot, per municipality;
- dpia.md: a DPIA skeleton following the Model DPIA Rijksdienst, with the live data inventory,
  retention periods, privacy parameters and the epsilon ledger as it stands;
- privacy-notice.nl.md, privacy-notice.en.md: the privacy notice for residents;
- sub-processors.{md,json}: who else receives data because of the configuration (none by default);
- manifest.json: version, generation date and the settings fingerprint, with a SHA-256 and the
  number of unfilled placeholders per file, so a published document can be matched to the
  configuration that produced it.

Documents are built completely in memory and checked for secrets before anything is written.
"""

from __future__ import annotations

from api.governance.texts import GovernanceError

__all__ = ["GovernanceError"]
