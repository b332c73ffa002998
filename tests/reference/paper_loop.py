"""The paper's cramming loop (hidden_capacity: train.py + model.py), written here from its
definition, for one text at batch 1 on a transformers model:

  inputs_embeds = cat(mem, embed(ids));  logits = model(inputs_embeds).logits[:, k:]
  loss = mean CE(logits[:-1], ids[1:]);  acc = mean(argmax(logits[:-1]) == ids[1:])
  AdamW(mem; lr, betas, weight_decay, eps), optionally under a transformers schedule (stepped
  after every update); the model frozen
  best = the first step with a strictly higher accuracy; stop at accuracy 1.0, or after
  `patience` steps without one, or after max_steps steps.

Step s records the loss and accuracy of the mem before update s (step 0: the initial mem).
With `terms` (loss_terms below) the update follows progressive_cramming's objective instead of
the mean CE; the recorded loss stays the mean CE. With one_step (Mezentsev & Oseledets' one-step
generation) the model reads [e_1..e_k, m, .., m] (N - 1 copies of m) instead of [mem, ids], and
the logits at e_k and every m are scored against t_1..t_N."""
import torch
import torch.nn.functional as F


def loss_terms(model, ids, k, first_tokens=0, first_weight=1.0, align_alpha=0.0, align_layers=0,
               align_from="first", align_distance="l2"):
    """progressive_cramming's objective (train/loss.py) for one text, written from its
    definition: the per-token CE with the first `first_tokens` targets weighing `first_weight`,
    divided by the number of targets, plus align_alpha x the summed per-state mean distance between
    the hidden states of [mem] + text at the text's positions and those of the text alone, over
    the first (or last) align_layers of transformers' hidden_states (0: all).
    Returns objective(ce_each [L-1], hidden_states of the run with mem)."""
    with torch.no_grad():
        target = model(input_ids=ids[None], output_hidden_states=True).hidden_states
    n = len(target)
    count = min(align_layers, n) if align_layers > 0 else n
    states = range(n - count, n) if align_from == "last" else range(count)

    def objective(ce_each, hidden_states):
        w = torch.ones_like(ce_each)
        w[:first_tokens] = first_weight
        total = (ce_each * w).sum() / ce_each.numel()
        if align_alpha > 0:
            align = 0.0
            for i in states:
                h, t = hidden_states[i][0, k:].float(), target[i][0].float()
                if align_distance == "l2":
                    d = F.mse_loss(h, t, reduction="none").sum(-1).sqrt()
                elif align_distance == "l1":
                    d = F.l1_loss(h, t, reduction="none").sum(-1)
                else:
                    d = 1.0 - F.cosine_similarity(h, t, dim=-1)
                align = align + d.mean()
            total = total + align_alpha * align
        return total
    return objective


def scores(model, mem, ids, hidden_states=False, one_step=False, shared_m=None):
    """One forward of [mem, ids]: the model's output, each target's CE (ids[1:]) and the argmax
    accuracy. one_step: of the carrier [e, m, .., m] instead, mem = [e_1..e_k, m] ([k + 1, d]) or,
    with shared_m [d], mem = e ([k, d]); every token of ids is a target."""
    dtype = model.get_input_embeddings().weight.dtype
    if one_step:
        k = mem.shape[0] - (1 if shared_m is None else 0)
        m = mem[k:k + 1] if shared_m is None else shared_m[None]
        carrier = torch.cat([mem[:k], m.expand(len(ids) - 1, -1)], 0)
        out = model(inputs_embeds=carrier[None].to(dtype))
        shift, targets = out.logits[0, k - 1:].float(), ids
    else:
        with torch.no_grad():
            text = model.get_input_embeddings()(ids[None])
        out = model(inputs_embeds=torch.cat([mem[None].to(dtype), text], 1), output_hidden_states=hidden_states)
        shift, targets = out.logits[0, mem.shape[0]:-1].float(), ids[1:]
    ce_each = F.cross_entropy(shift, targets, reduction="none")
    return out, ce_each, (shift.argmax(-1) == targets).float().mean().item()


def cram(model, ids, mem0, lr, betas, weight_decay, eps, max_steps, patience, schedule=None, terms=None,
         one_step=False, shared_m=None):
    """ids: [L] int64; mem0: [k, d] f32 (one_step: as scores' mem); schedule: None or a function
    of the optimizer that returns its LR scheduler; terms: None or a dict of loss_terms' options.
    Returns dict(losses, accs, best_loss, best_acc, steps) where steps is the index of the last
    step taken."""
    for p in model.parameters():
        p.requires_grad_(False)
    k = mem0.shape[0]
    mem = torch.nn.Parameter(mem0.clone().float())
    opt = torch.optim.AdamW([mem], lr=lr, betas=betas, weight_decay=weight_decay, eps=eps)
    scheduler = schedule(opt) if schedule else None
    losses, accs = [], []
    best_loss, best_acc, since = float("inf"), 0.0, 0
    objective = loss_terms(model, ids, k, **terms) if terms else None
    for step in range(max_steps):
        out, ce_each, acc = scores(model, mem, ids, objective is not None, one_step, shared_m)
        loss = ce_each.mean()
        (objective(ce_each, out.hidden_states) if objective else loss).backward()
        opt.step()
        opt.zero_grad()
        if scheduler:
            scheduler.step()
        losses.append(loss.item())
        accs.append(acc)
        if best_acc < acc:
            best_loss, best_acc, since = loss.item(), acc, 0
        else:
            since += 1
        if best_acc == 1.0 or since >= patience:
            break
    return {"losses": losses, "accs": accs, "best_loss": best_loss, "best_acc": best_acc,
            "steps": len(losses) - 1}


def mem_seed(task_key, run_seed):
    """crammer's per-task init seed (cram/ops.cpp): FNV-1a of the key, mixed with the run seed
    by splitmix64, folded to the 32 bits the CPU generator keeps."""
    mask = (1 << 64) - 1

    def splitmix64(x):
        x = (x + 0x9E3779B97F4A7C15) & mask
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    h = 0xCBF29CE484222325
    for c in task_key.encode():
        h = ((h ^ c) * 0x100000001B3) & mask
    s = splitmix64(h ^ splitmix64(run_seed))
    return (s ^ (s >> 32)) & 0xFFFFFFFF


def progressive(model, ids, mem0, start, lr, betas, weight_decay, eps, max_steps, patience, schedule=None,
                growth="doubling"):
    """progressive_cramming's search with one optimizer per text (its geometric growth and
    bisect back-off): probe `start` tokens, double while a probe converges (accuracy 1.0) up to
    len(ids), then bisect between the longest converged and the shortest failed length. Each
    probe starts from the mem, AdamW state and scheduler position of the last converged probe at
    the evaluation where it converged (the first probe: mem0, a fresh AdamW, the scheduler at
    0). A probe evaluates, stops at accuracy 1.0 or after `patience` evaluations without a
    strictly better one or after max_steps updates, else updates. growth "one_token": after a
    converged probe of L the next is L + 1, and the first failure ends the search. Returns a list
    of probes: dict(length, losses, accs, converged, steps, grown_from), grown_from the length of
    the converged probe it started from (0: mem0)."""
    import copy
    for p in model.parameters():
        p.requires_grad_(False)
    mem = torch.nn.Parameter(mem0.clone().float())
    opt = torch.optim.AdamW([mem], lr=lr, betas=betas, weight_decay=weight_decay, eps=eps)
    scheduler = schedule(opt) if schedule else None

    def state():
        return (mem.detach().clone(), copy.deepcopy(opt.state_dict()),
                copy.deepcopy(scheduler.state_dict()) if scheduler else None)
    snapshot = state()
    probes, lo, hi, length, doubling, grown_from = [], 0, None, start, True, 0
    while True:
        mem.data.copy_(snapshot[0])
        opt.load_state_dict(copy.deepcopy(snapshot[1]))
        if scheduler:
            scheduler.load_state_dict(copy.deepcopy(snapshot[2]))
        losses, accs, best_acc, since = [], [], -1.0, 0
        for step in range(max_steps + 1):
            _, ce_each, acc = scores(model, mem, ids[:length])
            loss = ce_each.mean()
            losses.append(loss.item())
            accs.append(acc)
            since = 0 if acc > best_acc else since + 1
            best_acc = max(best_acc, acc)
            if best_acc == 1.0 or since >= patience or step == max_steps:
                break
            loss.backward()
            opt.step()
            opt.zero_grad()
            if scheduler:
                scheduler.step()
        converged = best_acc == 1.0
        probes.append({"length": length, "losses": losses, "accs": accs, "converged": converged,
                       "steps": len(losses) - 1, "grown_from": grown_from})
        if converged:
            snapshot = state()
            lo, grown_from = max(lo, length), length
        else:
            hi = length if hi is None else min(hi, length)
        if growth == "one_token":
            if not converged or length >= len(ids):
                return probes
            length += 1
            continue
        if doubling and converged:
            if length >= len(ids):
                return probes
            length = min(2 * length, len(ids))
            continue
        doubling = False
        floor = max(lo, 1)
        if hi - floor <= 1:
            return probes
        length = floor + (hi - floor) // 2
