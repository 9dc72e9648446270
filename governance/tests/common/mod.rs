//! Shared fixtures of the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autopack_governance::{Catalog, Effect};

/// The first-party providers' operations and effects (DESIGN §4), as their plugins describe them.
pub fn catalog() -> Catalog {
    use Effect::*;
    Catalog::from_entries([
        ("etsy", "get_shop", Read),
        ("etsy", "list_listings", Read),
        ("etsy", "create_draft_listing", Draft),
        ("etsy", "update_listing", Modify),
        ("etsy", "publish_listing", Publish),
        ("etsy", "delete_listing", Delete),
        ("shopify", "get_product", Read),
        ("shopify", "create_draft_product", Draft),
        ("shopify", "publish_product", Publish),
        ("shopify", "update_price", Modify),
        ("shopify", "adjust_inventory", Modify),
        ("shopify", "delete_product", Delete),
        ("youtube", "list_my_videos", Read),
        ("youtube", "upload_video", Draft),
        ("youtube", "set_privacy", Publish),
        ("youtube", "update_metadata", Modify),
        ("youtube", "delete_video", Delete),
        ("trading", "get_account", Read),
        ("trading", "list_positions", Read),
        ("trading", "place_order", Trade),
        ("trading", "cancel_order", Draft),
        ("trading", "close_position", Trade),
    ])
    .unwrap()
}
