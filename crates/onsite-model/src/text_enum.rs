//! The `text_enum!` macro: `as_str`, `Display`, `FromStr` and the list of values for a
//! snake_case enum, and the error naming the choices when a value is unknown.

/// Implements `as_str`, `Display`, `FromStr` and the list of values for a snake_case enum.
macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::text_enum::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err($crate::text_enum::UnknownValue {
                        what: stringify!($name),
                        value: s.to_owned(),
                        expected: &[$($text),*],
                    }),
                }
            }
        }
    };
}
pub(crate) use text_enum;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; expected one of: {}", expected.join(", "))]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}
