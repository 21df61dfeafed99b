//! Who a user is to the system (technician, dispatcher, admin) and who owns what: the
//! status machine and field ownership both ask these questions.

use serde::{Deserialize, Serialize};

use crate::text_enum::text_enum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Technician,
    Dispatcher,
    Admin,
}
text_enum!(Role { Technician => "technician", Dispatcher => "dispatcher", Admin => "admin" });

impl Role {
    /// Whether this role may write what `owner` owns. Admins act as dispatchers.
    pub fn may_write(self, owner: FieldOwner) -> bool {
        matches!(
            (self, owner),
            (_, FieldOwner::Anyone)
                | (Role::Technician, FieldOwner::Technician)
                | (Role::Dispatcher | Role::Admin, FieldOwner::Dispatcher)
        )
    }
}

/// Who may write a field (see [`crate::ops::field_owner`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldOwner {
    Technician,
    Dispatcher,
    Anyone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_write_what_dispatchers_write() {
        assert!(Role::Admin.may_write(FieldOwner::Dispatcher));
        assert!(!Role::Admin.may_write(FieldOwner::Technician));
        assert!(Role::Technician.may_write(FieldOwner::Anyone));
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
    }
}
