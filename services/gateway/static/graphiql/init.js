// Renders GraphiQL into #graphiql. Loaded by index.html after React, ReactDOM
// and GraphiQL's UMD build, all served by the gateway under /graphql/assets/.
//
// Queries go to POST /graphql on this origin. The API wants a bearer token:
// paste it into the Headers tab (bottom panel), which GraphiQL's own fetcher
// sends with every request, the schema's introspection query included.
// shouldPersistHeaders: false keeps the headers (the token) out of
// localStorage, unless the user turns "Persist headers" on in the settings.
(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    root.textContent = 'GraphiQL could not load its scripts from /graphql/assets/.';
    return;
  }

  var fetcher = GraphiQL.createFetcher({ url: '/graphql' });

  var element = React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultHeaders: JSON.stringify({ Authorization: 'Bearer <paste a token>' }, null, 2),
    shouldPersistHeaders: false,
    isHeadersEditorEnabled: true,
    defaultEditorToolsVisibility: 'headers',
  });

  ReactDOM.createRoot(root).render(element);
})();
