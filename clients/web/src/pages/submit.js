// Submit a job: a form generated from the model's input specs (or a .npy/.pb upload per
// input), the verification mode, the fee quote from the runtime API and a balance check.
// Nothing is sent that the chain would refuse for a reason the page can see first.

import * as haca from '@haca/client';

import { canSend, onChange, state } from '../chain.js';
import { modelSpecs } from '../specs.js';
import { amount, h, hash, note, parseAmount, specText } from '../ui.js';

/** Reads one input's tensor from the form: typed values, or the uploaded file's. */
function readTensor(spec, field) {
  if (field.upload) return field.upload;
  const text = field.values.value.trim();
  if (!text) throw new Error(`${spec.name}: enter ${haca.elementCount(spec.shape)} values, or upload a .npy or .pb file`);
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const data = parts.map((part) => {
    if (spec.type === 'String') return part;
    if (spec.type === 'Bool') return part === 'true' || part === '1';
    const value = Number(part);
    if (Number.isNaN(value)) throw new Error(`${spec.name}: "${part}" is not a number`);
    return spec.type.startsWith('F') || spec.type.startsWith('BF') ? value : Math.trunc(value);
  });
  return { type: spec.type, shape: spec.shape, data };
}

/** Checks an uploaded tensor against the spec (variable axes may be smaller). */
function checkShape(spec, tensor) {
  const fits = tensor.type === spec.type && tensor.shape.length === spec.shape.length &&
    tensor.shape.every((d, axis) => ((spec.variableAxes >> axis) & 1 ? d >= 1 && d <= spec.shape[axis] : d === spec.shape[axis]));
  if (!fits) throw new Error(`${spec.name}: the model takes ${specText(spec)}; the file holds ${specText(tensor)}`);
  return tensor;
}

export async function submitPage(model) {
  const { api, token } = state;
  const info = await api.query.models.models(model);
  if (info.isNone) return { element: note('error', `No model has the hash ${model}.`) };
  const m = info.unwrap();
  const { inputs } = modelSpecs(m);
  const modes = m.modes.toJSON();

  const fields = inputs.map((spec) => {
    const field = { spec, upload: null };
    field.values = h('textarea', { name: spec.name, placeholder: `${haca.elementCount(spec.shape)} values, comma or space separated` });
    field.file = h('input', {
      type: 'file', accept: '.npy,.pb',
      onchange: async (event) => {
        const file = event.target.files[0];
        field.status.textContent = '';
        field.upload = null;
        if (!file) return update();
        try {
          const bytes = new Uint8Array(await file.arrayBuffer());
          const tensor = file.name.endsWith('.npy') ? haca.readNpy(bytes) : haca.readTensorProto(bytes);
          field.upload = checkShape(spec, tensor);
          field.status.textContent = `${file.name}: ${specText(tensor)}`;
          field.status.className = 'ok';
        } catch (error) {
          field.status.textContent = error.message;
          field.status.className = 'error';
        }
        return update();
      },
    });
    field.status = h('span');
    return field;
  });

  const modeSelect = h('select', { name: 'mode', onchange: () => update() },
    modes.attested && h('option', { value: 'attested' }, 'Attested: one executor, settles after the challenge window'),
    modes.quorum && h('option', { value: 'quorum' }, 'Quorum: several executors must agree'),
    modes.proven && h('option', { value: 'proven' }, 'Proven: the executor proves its result, final in one block'));
  const agree = h('input', { type: 'number', name: 'agree', min: 1, value: 2, oninput: () => update() });
  const of = h('input', { type: 'number', name: 'of', min: 2, value: 2, oninput: () => update() });
  const quorumFields = h('span', {}, ' agree ', agree, ' of ', of);
  const maxFee = h('input', { name: 'maxFee', size: 12, oninput: () => update(false) });
  const quoteText = h('span', { class: 'muted' });
  const problems = h('div', { id: 'problems' });
  const submit = h('button', { id: 'submit', type: 'submit' }, 'Submit job');
  let quoted = null;

  const mode = () => {
    if (modeSelect.value === 'quorum') return haca.quorum(Number(agree.value), Number(of.value));
    return modeSelect.value === 'proven' ? haca.PROVEN : haca.ATTESTED;
  };

  /** Re-quotes (unless `requote` is false) and lists what stops the submission. */
  async function update(requote = true) {
    quorumFields.hidden = modeSelect.value !== 'quorum';
    const found = [];
    if (requote) {
      quoted = await haca.quote(api, model, mode()).catch(() => null);
      if (quoted !== null && !parseAmount(maxFee.value, token)) maxFee.value = amount(quoted, token).split(' ')[0];
      quoteText.textContent = quoted === null
        ? 'the model takes no such job now (inactive, mode not accepted, too few executors or verifiers)'
        : `quote: ${amount(quoted, token)}`;
    }
    if (quoted === null) found.push('No quote: the chain would refuse this job.');
    const fee = parseAmount(maxFee.value, token);
    if (fee === null) found.push(`The maximum fee must be an amount in ${token.symbol}.`);
    else if (quoted !== null && fee < quoted) found.push(`The maximum fee is below the quote (${amount(quoted, token)}): the chain would refuse it (FeeTooLow).`);
    let encoded = null;
    try {
      encoded = haca.encodeTensors(fields.map((f) => readTensor(f.spec, f)));
      const max = api.consts.jobs.maxInputLen.toNumber();
      if (encoded.length > max) found.push(`The input is ${encoded.length} bytes, longer than the chain's ${max} (InputTooLong).`);
    } catch (error) {
      found.push(error.message);
    }
    if (!canSend()) found.push(state.account ? 'Not connected to the node.' : 'No account to sign with.');
    else if (fee !== null && encoded) {
      const { jobDeposit, inputByteDeposit } = api.consts.jobs;
      const deposit = jobDeposit.toBigInt() + inputByteDeposit.toBigInt() * BigInt(encoded.length);
      const { free } = await haca.balanceOf(api, state.account.address);
      if (free < fee + deposit) found.push(`${state.account.name} has ${amount(free, token)}: the job holds ${amount(fee + deposit, token)} (maximum fee and deposit) besides the transaction fee.`);
    }
    problems.replaceChildren(...found.map((text) => note('error', text)));
    submit.disabled = found.length > 0;
    return found;
  }

  const form = h('form', {
    onsubmit: async (event) => {
      event.preventDefault();
      if ((await update(false)).length) return;
      submit.disabled = true;
      problems.replaceChildren(note('muted', 'Signing and sending…'));
      try {
        const input = fields.map((f) => readTensor(f.spec, f));
        const job = await haca.submitJob(api, state.account.signer, { model, input, mode: mode(), maxFee: parseAmount(maxFee.value, token) });
        location.hash = `#/job/${job.job}?from=${job.block}`;
      } catch (error) {
        problems.replaceChildren(note('error', `Not submitted: ${error.message}`));
        submit.disabled = false;
      }
    },
  },
  fields.map((f) => h('div', { class: 'card' },
    h('label', {}, `${f.spec.name}: ${specText(f.spec)}`),
    f.values, h('div', {}, 'or upload ', f.file, ' ', f.status))),
  h('label', {}, 'Verification mode'), modeSelect, quorumFields,
  h('label', {}, `Maximum fee (${token.symbol})`), maxFee, ' ', quoteText,
  problems,
  h('p', {}, submit));
  fields.forEach((f) => f.values.addEventListener('input', () => update(false)));
  const leave = onChange(() => update(false));
  update();

  return { element: h('section', {}, h('h1', {}, 'Submit a job on ', hash(model)), form), leave };
}
