/**
 * A self-contained page that lists the API from its OpenAPI document: no scripts or styles from other
 * hosts, so it works on a node with no internet.
 */
export function docsPage(specUrl: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>odyssey-node API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.6rem}details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}
summary{cursor:pointer}code{background:#f4f4f4;padding:0 .3em;border-radius:3px}
.m{display:inline-block;width:4.5em;font-weight:600;text-transform:uppercase}
.get{color:#0a7}.post{color:#07c}.patch{color:#c70}.delete{color:#c22}pre{background:#f8f8f8;padding:.6rem;overflow:auto}
</style></head>
<body><h1>odyssey-node API</h1><p>From <a href="${specUrl}"><code>${specUrl}</code></a>. Paths are relative to <code>/api/v4</code>.</p>
<div id="paths">Loading…</div>
<script>
fetch(${JSON.stringify(specUrl)}).then(r=>r.json()).then(spec=>{
  const root=document.getElementById('paths');root.textContent='';
  for(const [path,ops] of Object.entries(spec.paths||{})){
    for(const [method,op] of Object.entries(ops)){
      const d=document.createElement('details');const s=document.createElement('summary');
      const m=document.createElement('span');m.className='m '+method;m.textContent=method;
      const p=document.createElement('code');p.textContent=path;
      s.append(m,p,document.createTextNode(' '+(op.summary||'')));
      const pre=document.createElement('pre');pre.textContent=JSON.stringify({security:op.security,parameters:op.parameters,requestBody:op.requestBody,responses:op.responses},null,2);
      d.append(s,pre);root.append(d);
    }
  }
});
</script></body></html>`;
}
