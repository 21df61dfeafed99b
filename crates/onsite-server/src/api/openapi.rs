//! The OpenAPI description of the HTTP surface, served at `/api/v1/openapi.json`, built
//! from the route table the router is built from.

use axum::Json;
use axum::http::Method;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{Info, OpenApi, Paths};

use super::routes::ENDPOINTS;

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::GET => HttpMethod::Get,
        Method::HEAD => HttpMethod::Head,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Trace,
    }
}

pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    for endpoint in ENDPOINTS {
        let op = OperationBuilder::new()
            .tag(endpoint.tag)
            .summary(Some(endpoint.summary))
            .response("200", ResponseBuilder::new().description("success").build())
            .response(
                "4XX",
                ResponseBuilder::new()
                    .description("ErrorBody {code, message, expected_seq?}")
                    .build(),
            )
            .build();
        paths.add_path_operation(endpoint.path, vec![http_method(&endpoint.method)], op);
    }
    let mut info = Info::new("Onsite server", env!("CARGO_PKG_VERSION"));
    info.description = Some(
        "Sync protocol for devices and the back-office API. Bearer tokens from /api/v1/auth/login."
            .into(),
    );
    OpenApi::new(info, paths)
}

pub async fn serve() -> Json<OpenApi> {
    Json(document())
}
