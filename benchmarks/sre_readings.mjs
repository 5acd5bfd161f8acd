// SRE baseline readings for a dev-equation JSONL file (the sre_clearspeak and sre_mathspeak fields).
// Same tools as ../shared/math: speech-rule-engine 4.1.5, mathjax-full 3.2.2 (TeX input, all
// packages but bussproofs, which needs an output jax). Outside the repository:
//   npm install speech-rule-engine@4.1.5 mathjax-full@3.2.2 && cp sre_readings.mjs . &&
//   node sre_readings.mjs < tests/data/mathspeech/paper_equations.jsonl > with_sre.jsonl
// It reproduces the SRE fields of ../shared/math/dev_equations.jsonl exactly (40 of 40).
import {mathjax} from 'mathjax-full/js/mathjax.js';
import {TeX} from 'mathjax-full/js/input/tex.js';
import {AllPackages} from 'mathjax-full/js/input/tex/AllPackages.js';
import {liteAdaptor} from 'mathjax-full/js/adaptors/liteAdaptor.js';
import {RegisterHTMLHandler} from 'mathjax-full/js/handlers/html.js';
import {SerializedMmlVisitor} from 'mathjax-full/js/core/MmlTree/SerializedMmlVisitor.js';
import {STATE} from 'mathjax-full/js/core/MathItem.js';
import SREmod from 'speech-rule-engine'; const SRE = SREmod;
import fs from 'fs';
const adaptor = liteAdaptor();
RegisterHTMLHandler(adaptor);
const tex = new TeX({packages: AllPackages.filter(p => p !== 'bussproofs')});
const html = mathjax.document('', {InputJax: tex});
const visitor = new SerializedMmlVisitor();
const toMml = (latex) => visitor.visitTree(html.convert(latex, {display: true, end: STATE.CONVERT}));
const lines = fs.readFileSync(0, 'utf8').split('\n').filter(l => l.trim());
const out = [];
for (const domain of ['clearspeak', 'mathspeak']) {
  await SRE.setupEngine({domain, style: 'default', locale: 'en', modality: 'speech'});
  await SRE.engineReady();
  lines.forEach((l, k) => {
    const row = out[k] || (out[k] = JSON.parse(l));
    row['sre_' + domain] = SRE.toSpeech(toMml(row.latex));
  });
}
for (const row of out) console.log(JSON.stringify(row));
