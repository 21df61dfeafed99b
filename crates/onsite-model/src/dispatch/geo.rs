//! Where a job is: a customer's coordinates and the great-circle distance between two of
//! them (haversine, on the Earth's mean radius).

use serde::{Deserialize, Serialize};

use crate::entities::Customer;

/// The Earth's mean radius (IUGG), in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A point on the globe in degrees (WGS 84 latitude and longitude, as customers store them).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    /// The customer's location, when both coordinates are recorded.
    pub fn of(customer: &Customer) -> Option<GeoPoint> {
        match (customer.lat, customer.lon) {
            (Some(lat), Some(lon)) if lat.is_finite() && lon.is_finite() => {
                Some(GeoPoint { lat, lon })
            }
            _ => None,
        }
    }

    /// The great-circle distance to `other` in kilometres (haversine formula): straight
    /// across the sphere, not along roads, so it ranks technicians by nearness without a map
    /// service and never overstates a detour.
    pub fn km_to(self, other: GeoPoint) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
    }
}
