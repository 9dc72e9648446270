//! Is a GraphQL-over-HTTP request body a read?
//!
//! Some provider APIs (Shopify's Admin API) serve reads only as GraphQL
//! queries sent with `POST`. For a path the operator listed in a provider's
//! `graphql_read_paths`, the egress gate lets such a `POST` through the
//! read-only profile only if [`classify`] finds the body to be a read: JSON
//! `{"query": string, "variables"?: object, "operationName"?: string}` whose
//! `query` is a GraphQL document that parses without errors and whose
//! operations are all `query` operations (the shorthand `{ … }` is one).
//! Any `mutation` or `subscription` refuses the whole request. The document
//! is parsed, never searched for words, so `mutation` inside a string or a
//! comment is not a mutation, and a mutation cannot hide from the check.

use apollo_parser::Parser;
use apollo_parser::cst::Definition;

/// The largest body the gate buffers to classify; a larger one is refused.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The body holds a `mutation` or `subscription` operation.
pub const MUTATION: &str = "graphql_mutation_in_read_only_profile";
/// The body is not a well-formed GraphQL-over-HTTP request holding a document.
pub const INVALID: &str = "graphql_body_invalid";
/// The body is larger than [`MAX_BODY_BYTES`].
pub const TOO_LARGE: &str = "graphql_body_too_large";

/// Nesting and token bounds of the parse (the body is already size-bounded).
const RECURSION_LIMIT: usize = 256;
const TOKEN_LIMIT: usize = 64 * 1024;

/// `Ok` if `body` is a GraphQL request whose operations are all queries;
/// otherwise the gate's denial reason ([`MUTATION`], [`INVALID`], [`TOO_LARGE`]).
pub fn classify(body: &[u8]) -> Result<(), &'static str> {
    if body.len() > MAX_BODY_BYTES {
        return Err(TOO_LARGE);
    }
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|_| INVALID)?;
    let fields = json.as_object().ok_or(INVALID)?;
    // Only the keys of the GraphQL-over-HTTP request; anything else (e.g.
    // persisted-query `extensions`) could make the server run another document.
    if fields
        .keys()
        .any(|k| !matches!(k.as_str(), "query" | "variables" | "operationName"))
    {
        return Err(INVALID);
    }
    let query = fields
        .get("query")
        .and_then(|q| q.as_str())
        .ok_or(INVALID)?;
    if !matches!(
        fields.get("variables"),
        None | Some(serde_json::Value::Null | serde_json::Value::Object(_))
    ) || !matches!(
        fields.get("operationName"),
        None | Some(serde_json::Value::Null | serde_json::Value::String(_))
    ) {
        return Err(INVALID);
    }

    let tree = Parser::new(query)
        .recursion_limit(RECURSION_LIMIT)
        .token_limit(TOKEN_LIMIT)
        .parse();
    if tree.errors().next().is_some() {
        return Err(INVALID);
    }
    let mut operations = 0;
    for definition in tree.document().definitions() {
        match definition {
            Definition::OperationDefinition(op) => {
                operations += 1;
                match op.operation_type() {
                    // The shorthand `{ … }` is a query.
                    None => {}
                    Some(t) if t.query_token().is_some() => {}
                    Some(t) if t.mutation_token().is_some() || t.subscription_token().is_some() => {
                        return Err(MUTATION);
                    }
                    Some(_) => return Err(INVALID),
                }
            }
            Definition::FragmentDefinition(_) => {}
            // Type-system definitions have no place in a request.
            _ => return Err(INVALID),
        }
    }
    if operations == 0 {
        return Err(INVALID);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(query: &str) -> Vec<u8> {
        json!({"query": query, "variables": {"id": "gid://shopify/Product/1"}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn named_query_is_allowed() {
        let q = "query GetProduct($id: ID!) { product(id: $id) { id title } }";
        assert_eq!(classify(&body(q)), Ok(()));
        let with_name = json!({"query": q, "operationName": "GetProduct"}).to_string();
        assert_eq!(classify(with_name.as_bytes()), Ok(()));
    }

    #[test]
    fn shorthand_query_is_allowed() {
        assert_eq!(classify(&body("{ shop { name } }")), Ok(()));
        // With a fragment, and null variables / operationName as clients send them.
        let q = "{ shop { ...S } } fragment S on Shop { name }";
        let b = json!({"query": q, "variables": null, "operationName": null}).to_string();
        assert_eq!(classify(b.as_bytes()), Ok(()));
    }

    #[test]
    fn mutation_is_denied() {
        let q = "mutation DeleteProduct($input: ProductDeleteInput!) { productDelete(input: $input) { deletedProductId } }";
        assert_eq!(classify(&body(q)), Err(MUTATION));
    }

    #[test]
    fn query_and_mutation_in_one_document_is_denied() {
        let q = "query A { shop { name } } mutation B { productDelete(input: {id: \"x\"}) { deletedProductId } }";
        let b = json!({"query": q, "operationName": "A"}).to_string();
        assert_eq!(classify(b.as_bytes()), Err(MUTATION));
    }

    #[test]
    fn subscription_is_denied() {
        assert_eq!(
            classify(&body("subscription S { productUpdated { id } }")),
            Err(MUTATION)
        );
    }

    #[test]
    fn parse_error_is_denied() {
        assert_eq!(classify(&body("query { product(id: ")), Err(INVALID));
        assert_eq!(classify(&body("mutatio X { a }")), Err(INVALID));
        assert_eq!(classify(&body("")), Err(INVALID));
        // Only a fragment: no operation to run.
        assert_eq!(classify(&body("fragment S on Shop { name }")), Err(INVALID));
        // Type-system definitions are not a request.
        assert_eq!(
            classify(&body("type Mutation { x: Int } { shop { name } }")),
            Err(INVALID)
        );
    }

    #[test]
    fn non_json_is_denied() {
        assert_eq!(classify(b"query { shop { name } }"), Err(INVALID));
        assert_eq!(classify(b"[\"query\"]"), Err(INVALID));
        assert_eq!(classify(&[0xff, 0xfe]), Err(INVALID));
    }

    #[test]
    fn missing_or_mistyped_fields_are_denied() {
        assert_eq!(classify(br#"{"variables": {}}"#), Err(INVALID));
        assert_eq!(classify(br#"{"query": 1}"#), Err(INVALID));
        assert_eq!(
            classify(br#"{"query": "{ a }", "variables": [1]}"#),
            Err(INVALID)
        );
        assert_eq!(
            classify(br#"{"query": "{ a }", "operationName": 3}"#),
            Err(INVALID)
        );
        assert_eq!(
            classify(br#"{"query": "{ a }", "extensions": {"persistedQuery": {}}}"#),
            Err(INVALID)
        );
    }

    #[test]
    fn mutation_in_a_string_or_comment_is_not_a_mutation() {
        let q = "# mutation { productDelete(input: {id: \"1\"}) { deletedProductId } }\n\
                 query Search { products(first: 1, query: \"mutation { productDelete }\") { nodes { id } } }";
        assert_eq!(classify(&body(q)), Ok(()));
        let block = "query Q { products(first: 1, query: \"\"\"\nmutation X { y }\n\"\"\") { nodes { id } } }";
        assert_eq!(classify(&body(block)), Ok(()));
        // A field named `mutation` is still a field of a query.
        assert_eq!(classify(&body("{ mutation }")), Ok(()));
    }

    #[test]
    fn too_large_body_is_denied() {
        let padding = " ".repeat(MAX_BODY_BYTES);
        assert_eq!(
            classify(&body(&format!("{{ a }}{padding}"))),
            Err(TOO_LARGE)
        );
    }
}
