//! The attribute macros of [`pluggable-runtime`]: `#[pluggable_runtime::main]`
//! and `#[pluggable_runtime::test]`. Use them through that crate, which
//! documents them with examples; this crate only expands them.
//!
//! Both take the same arguments, each at most once, comma-separated:
//! - `worker_threads = N`: a whole number from 1 (else the runtime's default:
//!   `RUNTIME_WORKER_THREADS`, else one per CPU);
//! - `queue = path::To::Queue`: the queue backend (else
//!   `pluggable_runtime::DefaultQueue`).
//!
//! Mistakes are compile errors at the offending tokens: an unknown argument,
//! a repeated one, a `worker_threads` that is not a whole number from 1, a
//! function that is not `async`, and a `main` or test that takes arguments or
//! generic parameters.
//!
//! [`pluggable-runtime`]: https://docs.rs/pluggable-runtime

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, quote, quote_spanned};
use syn::{ItemFn, LitInt, ReturnType, Type, meta::ParseNestedMeta, spanned::Spanned};

/// Runs an `async fn main` on a runtime built for it; see
/// `pluggable_runtime::main`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args, item)
}

/// Runs an `async fn` test on a runtime built for it; see
/// `pluggable_runtime::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args, item)
}

/// Which attribute is being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as users write it, for error messages.
    fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "#[pluggable_runtime::main]",
            Kind::Test => "#[pluggable_runtime::test]",
        }
    }
}

/// The attribute's arguments.
#[derive(Default)]
struct Args {
    /// `worker_threads = N`, checked to be a whole number from 1.
    worker_threads: Option<LitInt>,
    /// `queue = path::To::Queue`.
    queue: Option<Type>,
}

impl Args {
    fn parse(&mut self, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("worker_threads") {
            if self.worker_threads.is_some() {
                return Err(meta.error("`worker_threads` is given twice"));
            }
            let value = meta.value()?;
            let lit: LitInt = value.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`worker_threads` must be a whole number from 1, like `worker_threads = 4`",
                )
            })?;
            match lit.base10_parse::<usize>() {
                Ok(0) => {
                    return Err(syn::Error::new(lit.span(), "`worker_threads` must be at least 1, not 0"));
                }
                Ok(_) => {}
                Err(_) => {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!("`worker_threads = {lit}` is not a whole number of threads"),
                    ));
                }
            }
            self.worker_threads = Some(lit);
            Ok(())
        } else if meta.path.is_ident("queue") {
            if self.queue.is_some() {
                return Err(meta.error("`queue` is given twice"));
            }
            self.queue = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            let name = meta.path.to_token_stream().to_string().replace(' ', "");
            Err(meta.error(format!(
                "unknown argument `{name}`: expected `worker_threads = N` or `queue = path::To::Queue`"
            )))
        }
    }
}

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse::<ItemFn>(item) {
        Ok(function) => function,
        Err(error) => return error.to_compile_error().into(),
    };
    let mut parsed = Args::default();
    let parser = syn::meta::parser(|meta| parsed.parse(meta));
    let expanded =
        syn::parse::Parser::parse(parser, args).and_then(|()| wrap(kind, parsed, function.clone()));
    match expanded {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let (stub, error) = (stub(&function), error.to_compile_error());
            quote!(#stub #error).into()
        }
    }
}

/// What stands in for the function when the attribute is wrong: the same
/// name and return type and a body that is never run, so that the compiler
/// reports the attribute's error alone (not also a missing `main`, or errors
/// inside the body).
fn stub(function: &ItemFn) -> TokenStream2 {
    let ItemFn { attrs, vis, sig, .. } = function;
    let (ident, ret) = (&sig.ident, &sig.output);
    quote! {
        #(#attrs)*
        #[allow(dead_code)]
        #vis fn #ident() #ret {
            ::core::unreachable!()
        }
    }
}

/// Checks the function and wraps its body in a runtime's `block_on`.
fn wrap(kind: Kind, args: Args, function: ItemFn) -> syn::Result<TokenStream2> {
    let attribute = kind.attribute();
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!("{attribute} needs an `async fn`: add `async` before `fn`"),
        ));
    }
    let what = match kind {
        Kind::Main => "`main`",
        Kind::Test => "a test",
    };
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(sig.inputs.span(), format!("{what} cannot take arguments")));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(sig.generics.span(), format!("{what} cannot have generic parameters")));
    }
    if kind == Kind::Main && sig.ident != "main" {
        return Err(syn::Error::new(
            sig.ident.span(),
            format!("{attribute} goes on `async fn main`, not on `{}`", sig.ident),
        ));
    }

    let krate = quote!(::pluggable_runtime);
    let queue = match &args.queue {
        Some(queue) => quote!(#queue),
        None => quote_spanned!(Span::call_site()=> #krate::DefaultQueue),
    };
    let (workers, workers_check) = match &args.worker_threads {
        Some(n) => (
            quote!(::core::option::Option::Some(#n)),
            // Above the maximum is an error at compile time too, in words.
            quote_spanned! {n.span()=>
                const _: () = ::core::assert!(
                    #n <= #krate::MAX_WORKER_THREADS,
                    "`worker_threads` is above pluggable_runtime::MAX_WORKER_THREADS (1024)",
                );
            },
        ),
        None => (quote!(::core::option::Option::None), quote!()),
    };
    let output = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let test_attribute = match kind {
        Kind::Main => quote!(),
        Kind::Test => quote!(#[::core::prelude::v1::test]),
    };
    let attrs = &function.attrs;
    let vis = &function.vis;
    let ident = &sig.ident;
    let ret = &sig.output;
    let body = &function.block;
    Ok(quote! {
        #test_attribute
        #(#attrs)*
        #vis fn #ident() #ret {
            #workers_check
            let runtime = #krate::__private::runtime::<#queue>(#workers, #attribute);
            #krate::__private::block_on::<#queue, #output, _>(&runtime, async #body)
        }
    })
}
