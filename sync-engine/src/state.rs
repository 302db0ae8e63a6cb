//! What the engine keeps about a job beyond the connectors' typed records: the cycle counter,
//! the configuration hash, whether a full import has completed under it, and the quarantine.

use connectors::state::records::job_prefix;
use connectors::state::{StateStoreExt, Table, Txn};
use connectors::{JobId, StateStore};
use serde::{Deserialize, Serialize};

use crate::log::Quarantine;
use crate::{Error, Result};

/// The job-level record, stored in [`Table::JOBS`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobState {
    /// Cycles started so far (the next cycle's number is this + 1).
    pub cycles: u64,
    /// The configuration hash the links and watermarks were made under.
    pub config_hash: Option<String>,
    /// Whether a complete import has finished under `config_hash` (so the next cycle can be
    /// a delta one).
    pub completed: bool,
    /// Whether any cycle ever completed (initial vs full).
    pub ever_completed: bool,
    /// The quarantine, if any.
    pub quarantine: Option<Quarantine>,
}

impl JobState {
    pub(crate) async fn load(store: &dyn StateStore, job: &JobId) -> Result<Self> {
        store
            .get_json(Table::JOBS, &job_prefix(job))
            .await
            .map(Option::unwrap_or_default)
            .map_err(|e| Error::connector("reading the job's state", e))
    }

    pub(crate) fn write(&self, txn: &mut Txn, job: &JobId) -> Result<()> {
        txn.put_json(Table::JOBS, job_prefix(job), self)
            .map_err(|e| Error::connector("writing the job's state", e))
    }
}
