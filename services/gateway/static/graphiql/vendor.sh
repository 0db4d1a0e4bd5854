#!/usr/bin/env bash
# Re-vendors the browser builds GraphiQL needs into this folder, from the npm
# registry's tarballs (npm pack: no install, no scripts run). Change the
# versions below, run it, check with `scripts/browser render-check --self-test`, commit.
set -euo pipefail

GRAPHIQL=3.9.0   # the newest 3.x; 4.x still has a UMD build, 5.x has none
REACT=18.3.1     # the last React with UMD builds (React 19 has none)

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null
for tarball in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
  pkg="${tarball%-*}"
  mkdir "$pkg"
  tar -xzf "$tarball.tgz" -C "$pkg" --strip-components=1
done

cp graphiql/graphiql.min.js graphiql/graphiql.min.css "$here/"
cp react/umd/react.production.min.js "$here/"
cp react-dom/umd/react-dom.production.min.js "$here/"
cp graphiql/LICENSE "$here/graphiql.LICENSE"
cp react/LICENSE "$here/react.LICENSE"
cp react-dom/LICENSE "$here/react-dom.LICENSE"

# The files stay byte-identical to the packages' (README.md lists their
# sha256); graphiql.min.js's trailing sourceMappingURL comment names a map
# that is not vendored, which only browsers' dev tools ever ask for.
(cd "$here" && sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js)

echo "vendored graphiql@$GRAPHIQL, react@$REACT, react-dom@$REACT into $here"
