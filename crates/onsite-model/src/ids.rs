//! Typed UUIDv7 ids, generated where a record is born (device or server).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::IdSource;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new(ids: &dyn IdSource) -> Self {
                Self(ids.new_uuid())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type!(
    UserId,
    DeviceId,
    CustomerId,
    AssetId,
    WorkOrderId,
    PartUsedId,
    TimeEntryId,
    NoteId,
    PhotoId,
    SignatureId,
    FeedbackId,
    StatusEventId,
    ConflictId,
    /// A callback task of the closed loop.
    CallbackId,
    /// A complaint of the closed loop.
    ComplaintId,
    /// One entry of the closed loop's append-only history.
    LoopEventId,
    /// Groups the ops of one local transaction: they apply together.
    TxId,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeqIds;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let ids = SeqIds::new(1);
        let id = WorkOrderId::new(&ids);
        assert_eq!(id.to_string().parse::<WorkOrderId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert!("not-a-uuid".parse::<WorkOrderId>().is_err());
    }
}
