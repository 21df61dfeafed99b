//! One `LISTEN` connection per instance: every notice any instance's write transaction sent
//! with `NOTIFY` (delivered by PostgreSQL only when that transaction commits) is published to
//! this instance's [`ChangeFeed`]. A lost connection is opened again with backoff; notices
//! sent while it was down are not replayed, so after each `LISTEN` the feed gets an
//! "everyone re-check" at the current `server_seq`, and devices that missed a nudge pull.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{AsyncMessage, Config, NoTls};

use crate::live::{CHANNEL, ChangeFeed, ChangeNotice};

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// How the listening connection names itself in `pg_stat_activity`.
const APPLICATION_NAME: &str = "onsite-server change listener";

/// Listens until the runtime it runs on shuts down.
pub(super) async fn run(mut config: Config, feed: Arc<ChangeFeed>) {
    config.application_name(APPLICATION_NAME);
    let mut backoff = FIRST_BACKOFF;
    loop {
        match listen_once(&config, &feed).await {
            Ok(()) => {
                tracing::warn!("the change listener's database connection closed; reconnecting");
                backoff = FIRST_BACKOFF;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the change listener could not listen; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life: `LISTEN`, tell everyone to re-check, then publish what arrives
/// until the connection ends (`Ok`) or fails to set up (`Err`).
async fn listen_once(config: &Config, feed: &Arc<ChangeFeed>) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let heard = feed.clone();
    // The connection must be polled for the client's statements to run, and it is also where
    // notifications arrive; it ends when the server closes it or the socket breaks.
    let driver = tokio::spawn(async move {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) if n.channel() == CHANNEL => {
                    heard.publish_text(n.payload());
                }
                Ok(AsyncMessage::Notice(notice)) => {
                    tracing::debug!(notice = %notice, "database notice on the change listener");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the change listener's connection failed");
                    break;
                }
            }
        }
    });
    let ready = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        let row = client
            .query_one("SELECT value FROM counters WHERE name = 'server_seq'", &[])
            .await?;
        Ok::<u64, tokio_postgres::Error>(row.try_get::<_, i64>(0)?.max(0) as u64)
    };
    match ready.await {
        Ok(seq) => {
            tracing::info!(seq, "listening for changes on {CHANNEL}");
            feed.publish(ChangeNotice::everyone(seq));
        }
        Err(e) => {
            driver.abort();
            return Err(e);
        }
    }
    let _ = driver.await;
    drop(client);
    Ok(())
}
