//! [`MemoryStateStore`]: the reference state store, in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{KeyRange, Lease, StateStore, Table, WriteBatch, WriteOp};
use crate::types::JobId;
use crate::{Error, Result};

type Tables = BTreeMap<&'static str, BTreeMap<Vec<u8>, Vec<u8>>>;

/// A [`StateStore`] in memory: ordered, atomic, fenced — and gone when the process ends.
///
/// For tests and for hosts that keep state elsewhere between runs. `Clone` gives another
/// handle to the same data.
#[derive(Clone, Debug, Default)]
pub struct MemoryStateStore {
    tables: Arc<Mutex<Tables>>,
}

impl MemoryStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-applied batch (batches are
        // checked before anything is written), so the data is usable after a poisoning.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Checks a batch against the current tables without changing them: the lease is current
/// and no `Insert` key exists (also not one inserted earlier in the same batch).
pub(crate) fn check_batch(
    batch: &WriteBatch,
    current_lease: impl Fn(&JobId) -> Option<Lease>,
    exists: impl Fn(Table, &[u8]) -> bool,
) -> Result<()> {
    if let Some(lease) = &batch.lease {
        let current = current_lease(&lease.job);
        let ok = current
            .as_ref()
            .is_some_and(|c| c.epoch == lease.epoch && c.holder == lease.holder);
        if !ok {
            return Err(Error::LeaseLost {
                job: lease.job.clone(),
                epoch: lease.epoch,
            });
        }
    }
    let mut inserted: Vec<(Table, &[u8])> = Vec::new();
    for op in &batch.ops {
        if let WriteOp::Insert { table, key, .. } = op {
            if exists(*table, key) || inserted.contains(&(*table, key.as_slice())) {
                return Err(Error::KeyExists {
                    table: table.name().to_owned(),
                    key: String::from_utf8_lossy(key).into_owned(),
                });
            }
            inserted.push((*table, key));
        }
    }
    Ok(())
}

/// Decides a lease request against the current lease: renew, take over, or refuse.
pub(crate) fn grant_lease(
    current: Option<Lease>,
    job: &JobId,
    holder: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<Lease> {
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    let expires = now
        .checked_add_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    match current {
        Some(c) if c.holder == holder => Ok(Lease { expires, ..c }),
        Some(c) if c.expires > now => Err(Error::LeaseHeld {
            job: job.clone(),
            holder: c.holder,
            until: c.expires.to_rfc3339(),
        }),
        Some(c) => Ok(Lease {
            job: job.clone(),
            holder: holder.to_owned(),
            epoch: c.epoch + 1,
            expires,
        }),
        None => Ok(Lease {
            job: job.clone(),
            holder: holder.to_owned(),
            epoch: 1,
            expires,
        }),
    }
}

fn decode_lease(bytes: &[u8]) -> Option<Lease> {
    serde_json::from_slice(bytes).ok()
}

fn lease_key(job: &JobId) -> Vec<u8> {
    super::Key::new().str(job.as_str()).into_bytes()
}

#[async_trait]
impl StateStore for MemoryStateStore {
    fn name(&self) -> &str {
        "memory"
    }

    async fn acquire_lease(
        &self,
        job: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        let mut tables = self.lock();
        let leases = tables.entry(Table::LEASES.name()).or_default();
        let key = lease_key(job);
        let current = leases.get(&key).and_then(|b| decode_lease(b));
        let lease = grant_lease(current, job, holder, now, ttl)?;
        let bytes = serde_json::to_vec(&lease).map_err(|e| Error::Storage {
            backend: "memory",
            message: format!("cannot encode lease: {e}"),
            temporary: false,
        })?;
        leases.insert(key, bytes);
        Ok(lease)
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        let mut tables = self.lock();
        let leases = tables.entry(Table::LEASES.name()).or_default();
        let key = lease_key(&lease.job);
        let current = leases.get(&key).and_then(|b| decode_lease(b));
        if current.is_some_and(|c| c.epoch == lease.epoch && c.holder == lease.holder) {
            // Keep the epoch so the next holder's is higher; expire it now.
            let expired = Lease {
                expires: DateTime::<Utc>::MIN_UTC,
                ..lease.clone()
            };
            if let Ok(bytes) = serde_json::to_vec(&expired) {
                leases.insert(key, bytes);
            }
        }
        Ok(())
    }

    async fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .lock()
            .get(table.name())
            .and_then(|t| t.get(key))
            .cloned())
    }

    async fn scan(
        &self,
        table: Table,
        range: &KeyRange,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let tables = self.lock();
        let Some(t) = tables.get(table.name()) else {
            return Ok(Vec::new());
        };
        let (start, inclusive) = range.start();
        let lower = if inclusive {
            std::ops::Bound::Included(start.to_vec())
        } else {
            std::ops::Bound::Excluded(start.to_vec())
        };
        Ok(t.range((lower, std::ops::Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(&range.prefix))
            .filter(|(k, _)| range.contains(k))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn commit(&self, batch: WriteBatch) -> Result<()> {
        let mut tables = self.lock();
        check_batch(
            &batch,
            |job| {
                tables
                    .get(Table::LEASES.name())
                    .and_then(|t| t.get(&lease_key(job)))
                    .and_then(|b| decode_lease(b))
            },
            |table, key| {
                tables
                    .get(table.name())
                    .is_some_and(|t| t.contains_key(key))
            },
        )?;
        for op in batch.ops {
            match op {
                WriteOp::Put { table, key, value } | WriteOp::Insert { table, key, value } => {
                    tables.entry(table.name()).or_default().insert(key, value);
                }
                WriteOp::Delete { table, key } => {
                    if let Some(t) = tables.get_mut(table.name()) {
                        t.remove(&key);
                    }
                }
                WriteOp::DeletePrefix { table, prefix } => {
                    if let Some(t) = tables.get_mut(table.name()) {
                        let doomed: Vec<Vec<u8>> = t
                            .range(prefix.clone()..)
                            .take_while(|(k, _)| k.starts_with(&prefix))
                            .map(|(k, _)| k.clone())
                            .collect();
                        for k in doomed {
                            t.remove(&k);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
