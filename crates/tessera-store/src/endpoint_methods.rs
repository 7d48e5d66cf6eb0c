//! The HTTP methods an endpoint allows; each has its own primary token.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{StoreError, StoreResult};

/// The methods an endpoint can be called with, each with its primary token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndpointMethod {
    Get,
    Post,
    Delete,
}

impl EndpointMethod {
    pub const ALL: [Self; 3] = [Self::Get, Self::Post, Self::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|method| method.as_str() == value)
    }
}

impl std::fmt::Display for EndpointMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn method_from_row(row: &AnyRow, column: &str) -> StoreResult<EndpointMethod> {
    let method: String = row.try_get(column)?;
    EndpointMethod::parse(&method).ok_or(StoreError::Corrupt("endpoint method"))
}
