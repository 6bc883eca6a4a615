//! Which instance runs the periodic work.
//!
//! Several instances may share one PostgreSQL database. Each runs its own
//! provisioning worker (jobs are claimed row by row), but the periodic
//! work (drift checks, audit checkpoints, mail delivery) must run on one
//! instance at a time, or two would compare the zone at once, write
//! checkpoints side by side and send each e-mail twice. The instance that
//! holds the store's periodic lease does it; the others keep trying to
//! take the lease, and one of them does within [`RETRY`] of the holder
//! stopping or dying (its database connection closes, and with it the
//! lock). On SQLite the lease is always this process's.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// How often the lease is tried for, and checked while held.
pub const RETRY: Duration = Duration::from_secs(5);

/// Holds (or tries to take) the periodic lease until `shutdown`, telling
/// `leading` whether this instance holds it.
pub async fn run(
    store: Arc<dyn Store>,
    leading: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut lease: Option<crate::store::PeriodicLease> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        lease = match lease.take() {
            Some(mut held) => {
                if held.still_held().await {
                    Some(held)
                } else {
                    tracing::warn!("lost the periodic-work lease (database connection gone)");
                    None
                }
            }
            None => match store.periodic_lease().await {
                Ok(Some(taken)) => {
                    tracing::info!("this instance runs the periodic work");
                    Some(taken)
                }
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "cannot ask for the periodic-work lease");
                    None
                }
            },
        };
        leading.send_if_modified(|now| {
            let changed = *now != lease.is_some();
            *now = lease.is_some();
            changed
        });
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = shutdown.changed() => {}
        }
    }
    // Dropping the lease closes its connection: another instance takes it.
    drop(lease);
    leading.send_replace(false);
}

/// Waits until this instance holds the periodic lease; `false` if
/// `shutdown` came first.
pub async fn until_leading(
    leading: &mut watch::Receiver<bool>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        held = leading.wait_for(|held| *held) => held.is_ok(),
        _ = shutdown.wait_for(|stop| *stop) => false,
    }
}
