"""Export a PyTorch-trained CNF to cnfkit's model format (a folder with model.json + weights.bin,
loadable with `CNF.load(folder)` in Node or from a URL or picked files in a page).

Two kinds of model, both made of FFJORD's ConcatSquashLinear layers (`_layer`, `_hyper_gate`,
`_hyper_bias`) with tanh, softplus, elu or FFJORD's swish between them:

  ffjord          a checkpoint of FFJORD's train_toy.py / train_tabular.py (`build_model_tabular`,
                  layer_type concatsquash, any dims, 1 or more blocks, T trained or not). FFJORD's
                  time convention is cnfkit's: data at t = 0, the base N(0, I) at t = T.
  flow-matching   a vector field u(s, x) in the same layout trained by flow matching (TorchCFM's
                  convention: noise at s = 0, data at s = 1). cnfkit evaluates it at s = 1 − t/T
                  (option fieldTime: 'flow-matching', T = 1) with the sign folded into the last layer,
                  so that F(t, x) = −u(1 − t, x) carries data at t = 0 to noise at t = 1.

FFJORD's swish is x·σ(βx) with a trained β; cnfkit's is x·σ(x). Since x·σ(βx) = swish(βx)/β, β is
folded into the weights exactly: the layer before it scaled by β, the layer after it by 1/β.

Needs PyTorch only (not FFJORD's code):

  python3 export_cnfkit.py ffjord checkpt.pth out/model
  python3 export_cnfkit.py flow-matching field.pt out/model --dims 64-64-64 --nonlinearity tanh

A field file is a state_dict (or a module) with keys `...layers.{i}._layer.weight` etc.
"""
import argparse
import decimal
import json
import os
import re
import struct
import sys
import zlib

ACTIVATIONS = ('tanh', 'softplus', 'elu', 'swish')
FORMAT, VERSION = 'cnfkit-model', 1


def js_number(x):
    """A number as JavaScript's JSON.stringify writes it (cnfkit's config checksum hashes that text)."""
    if isinstance(x, bool):
        raise TypeError('not a number')
    if float(x) == int(x) and abs(x) < 1e21:
        return str(int(x))
    d = decimal.Decimal(repr(float(x))).normalize()
    sign, digits, exponent = d.as_tuple()
    s = ''.join(map(str, digits))
    k, n = len(s), len(s) + exponent
    if k <= n <= 21:
        out = s + '0' * (n - k)
    elif 0 < n <= 21:
        out = s[:n] + '.' + s[n:]
    elif -6 < n <= 0:
        out = '0.' + '0' * (-n) + s
    else:
        e = n - 1
        out = (s[0] + ('.' + s[1:] if k > 1 else '')) + 'e' + ('+' if e >= 0 else '-') + str(abs(e))
    return ('-' if sign else '') + out


def canonical_json(value):
    """cnfkit's canonical JSON (keys sorted, no spaces), as src/io/model_checks.ts writes it."""
    if isinstance(value, dict):
        return '{' + ','.join(json.dumps(k) + ':' + canonical_json(value[k]) for k in sorted(value)) + '}'
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(canonical_json(v) for v in value) + ']'
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return js_number(value)
    return json.dumps(value, ensure_ascii=False)


def write_model(out_dir, options, weights):
    """Writes model.json (tf.io's model JSON with the cnfkit config) and weights.bin (float32)."""
    offset, manifest, chunks = 0, [], []
    for name, shape, values in weights:
        flat = [float(v) for v in values]
        manifest.append({'name': name, 'shape': list(shape), 'offset': offset, 'length': len(flat)})
        offset += len(flat)
        chunks.append(struct.pack('<%df' % len(flat), *flat))
    data = b''.join(chunks)
    config = {'format': FORMAT, 'version': VERSION, 'kind': 'CNF', 'options': options,
              'checksum': zlib.crc32(data) & 0xffffffff, 'weights': manifest}
    config['configChecksum'] = zlib.crc32(canonical_json(config).encode('utf-8')) & 0xffffffff
    model_json = {'format': FORMAT, 'generatedBy': 'cnfkit tools/pytorch/export_cnfkit.py', 'convertedBy': None,
                  'modelTopology': {'cnfkit': config},
                  'weightsManifest': [{'paths': ['weights.bin'], 'weights': [{'name': w['name'], 'shape': w['shape'], 'dtype': 'float32'} for w in manifest]}]}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'weights.bin'), 'wb') as f:
        f.write(data)
    with open(os.path.join(out_dir, 'model.json'), 'w') as f:
        json.dump(model_json, f, indent=2)
        f.write('\n')


def network_layers(state, prefix):
    """The ConcatSquash layers under `prefix` as cnfkit weights: (W [in, out], b, gateW [1, out], gateB, biasW [1, out])."""
    layers = []
    i = 0
    while prefix + 'layers.%d._layer.weight' % i in state:
        p = prefix + 'layers.%d.' % i
        for key in ('_layer.bias', '_hyper_gate.weight', '_hyper_gate.bias', '_hyper_bias.weight'):
            if p + key not in state:
                raise SystemExit('export_cnfkit: %s%s is missing: only ConcatSquashLinear layers (concatsquash) are supported' % (p, key))
        if p + '_hyper_bias.bias' in state:
            raise SystemExit('export_cnfkit: %s_hyper_bias has a bias; FFJORD\'s ConcatSquashLinear has none' % p)
        w = state[p + '_layer.weight'].double()
        layers.append({'W': w.t().contiguous(), 'b': state[p + '_layer.bias'].double(),
                       'gateW': state[p + '_hyper_gate.weight'].double().t().contiguous(),
                       'gateB': state[p + '_hyper_gate.bias'].double(),
                       'biasW': state[p + '_hyper_bias.weight'].double().t().contiguous()})
        i += 1
    if not layers:
        raise SystemExit('export_cnfkit: no ConcatSquash layers under %r (keys like %slayers.0._layer.weight)' % (prefix, prefix))
    return layers


def fold_swish_betas(layers, state, prefix):
    """x·σ(βx) = swish(βx)/β: scale the layer before each activation by β and the one after by 1/β."""
    for i in range(len(layers) - 1):
        key = prefix + 'activation_fns.%d.beta' % i
        if key not in state:
            raise SystemExit('export_cnfkit: %s is missing (FFJORD\'s Swish keeps its beta there)' % key)
        beta = float(state[key])
        if beta == 0:
            raise SystemExit('export_cnfkit: %s is 0: the activation is linear, which cnfkit does not represent' % key)
        for name in ('W', 'b', 'biasW'):
            layers[i][name] = layers[i][name] * beta
        layers[i + 1]['W'] = layers[i + 1]['W'] / beta


def check_dims(layers, dims, dim):
    widths = [layers[0]['W'].shape[0]] + [l['W'].shape[1] for l in layers]
    if widths[0] != dim or widths[-1] != dim or widths[1:-1] != dims:
        raise SystemExit('export_cnfkit: the layers are %s, but the options say %s' % ('-'.join(map(str, widths)), '-'.join(map(str, [dim] + dims + [dim]))))


def flat_weights(block, layers):
    out = []
    for i, layer in enumerate(layers):
        for name in ('W', 'b', 'gateW', 'gateB', 'biasW'):
            t = layer[name]
            out.append(('block%d.layer%d.%s' % (block, i, name), list(t.shape), t.reshape(-1).tolist()))
    return out


def export_ffjord(state, args, out_dir):
    """An FFJORD CNF (`build_model_tabular`) from its state_dict and its args (dict or Namespace)."""
    args = vars(args) if not isinstance(args, dict) else args
    if args.get('layer_type', 'concatsquash') != 'concatsquash':
        raise SystemExit('export_cnfkit: layer_type %r: only concatsquash is supported' % args.get('layer_type'))
    # Options that change the dynamics or the flow in ways cnfkit does not model: refuse, never export wrong.
    for key in ('residual', 'batch_norm', 'spectral_norm'):
        if args.get(key):
            raise SystemExit('export_cnfkit: %s=True is not supported (cnfkit\'s network has no such part)' % key)
    activation = args.get('nonlinearity', 'tanh')
    if activation not in ACTIVATIONS:
        raise SystemExit('export_cnfkit: nonlinearity %r: cnfkit has %s' % (activation, ', '.join(ACTIVATIONS)))
    dims = [int(d) for d in str(args.get('dims', '64-64-64')).split('-') if d]
    blocks = sorted({int(m.group(1)) for k in state for m in [re.match(r'chain\.(\d+)\.', k)] if m})
    if not blocks:
        raise SystemExit('export_cnfkit: no chain.{i}. keys: is this an FFJORD model\'s state_dict?')
    weights, train_t, times = [], None, []
    for b in blocks:
        prefix = next((p for p in ('chain.%d.odefunc.odefunc.diffeq.' % b, 'chain.%d.odefunc.diffeq.' % b) if p + 'layers.0._layer.weight' in state), None)
        if prefix is None:
            raise SystemExit('export_cnfkit: chain.%d holds no ODEnet with ConcatSquash layers' % b)
        layers = network_layers(state, prefix)
        if activation == 'swish':
            fold_swish_betas(layers, state, prefix)
        dim = layers[0]['W'].shape[0]
        check_dims(layers, dims, dim)
        weights += flat_weights(b, layers)
        sqrt_t = float(state['chain.%d.sqrt_end_time' % b])
        times.append(sqrt_t ** 2)
        trained = bool(args.get('train_T', True))
        train_t = trained if train_t is None else train_t
        if trained:
            weights.append(('block%d.sqrtT' % b, [], [sqrt_t]))
    options = {'dim': dim, 'hiddenDims': dims, 'activation': activation, 'layer': 'concatsquash', 'blocks': len(blocks),
               'T': times[0] if not train_t else float(args.get('time_length', times[0])), 'trainT': train_t,
               'method': 'dopri5', 'rtol': float(args.get('rtol', 1e-5)), 'atol': float(args.get('atol', 1e-5))}
    if not train_t and len(set(times)) > 1:
        raise SystemExit('export_cnfkit: the blocks have different fixed T (%s); cnfkit gives every block one T' % times)
    write_model(out_dir, options, weights)
    return options


def export_flow_matching(state, dims, activation, out_dir):
    """A flow-matching field u(s, x) (noise at s = 0, data at s = 1) in the ConcatSquash layout."""
    if activation not in ACTIVATIONS:
        raise SystemExit('export_cnfkit: nonlinearity %r: cnfkit has %s' % (activation, ', '.join(ACTIVATIONS)))
    prefix = next((k[: -len('layers.0._layer.weight')] for k in state if k.endswith('layers.0._layer.weight')), None)
    if prefix is None:
        raise SystemExit('export_cnfkit: no layers.0._layer.weight: is this a ConcatSquash field?')
    layers = network_layers(state, prefix)
    if activation == 'swish':
        fold_swish_betas(layers, state, prefix)
    dim = layers[0]['W'].shape[0]
    check_dims(layers, dims, dim)
    # F(t, x) = −u(1 − t/T, x)/T with T = 1: the sign goes into the last layer's additive parts.
    for name in ('W', 'b', 'biasW'):
        layers[-1][name] = -layers[-1][name]
    options = {'dim': dim, 'hiddenDims': dims, 'activation': activation, 'layer': 'concatsquash', 'blocks': 1,
               'T': 1, 'trainT': False, 'fieldTime': 'flow-matching', 'method': 'dopri5', 'rtol': 1e-5, 'atol': 1e-5}
    write_model(out_dir, options, flat_weights(0, layers))
    return options


def load_state(path):
    import torch
    obj = torch.load(path, map_location='cpu')
    if hasattr(obj, 'state_dict') and callable(obj.state_dict):
        return obj.state_dict(), None
    if isinstance(obj, dict) and 'state_dict' in obj:
        return obj['state_dict'], obj.get('args')
    return obj, None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('kind', choices=('ffjord', 'flow-matching'))
    p.add_argument('source', help='a .pth/.pt file: an FFJORD checkpoint, or a field (state_dict or module)')
    p.add_argument('out', help='the model folder to write (model.json, weights.bin)')
    p.add_argument('--dims', help='hidden widths, e.g. 64-64-64 (flow-matching; FFJORD checkpoints carry theirs)')
    p.add_argument('--nonlinearity', default='tanh', choices=ACTIVATIONS)
    a = p.parse_args(argv)
    state, args = load_state(a.source)
    if a.kind == 'ffjord':
        if args is None:
            raise SystemExit('export_cnfkit: %s has no args: an FFJORD checkpoint is {"args": ..., "state_dict": ...}' % a.source)
        options = export_ffjord(state, args, a.out)
    else:
        if not a.dims:
            raise SystemExit('export_cnfkit: --dims is needed for a flow-matching field (e.g. 64-64-64)')
        options = export_flow_matching(state, [int(d) for d in a.dims.split('-')], a.nonlinearity, a.out)
    print('export_cnfkit: wrote %s (%s)' % (a.out, json.dumps(options)))


if __name__ == '__main__':
    main(sys.argv[1:])
