// For admins only: the municipality's audit log (paged) and its staff accounts (add, disable,
// replace the second factor). Built when an admin logs in and removed at logout, so nobody
// else ever has these sections in the page.
import { api, el, lang, t } from '../common.js';

const ROLES = ['analyst', 'moderator', 'admin'];

function when(iso) {
  return new Intl.DateTimeFormat(lang() === 'nl' ? 'nl-NL' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'medium',
    timeZone: 'Europe/Amsterdam',
  }).format(new Date(iso));
}

export class AdminPanel {
  /**
   * @param {HTMLElement} host where the sections go
   * @param {{slug: string, me: object, municipalityName: string, onError: Function}} context
   *   onError(error) is called first with every API error; it returns true when it handled
   *   it (a lapsed session).
   */
  constructor(host, context) {
    this.host = host;
    this.context = context;
    this.audit = { entries: [], next: null, loaded: false, error: null };
    this.staff = { accounts: null, error: null };
    this.confirming = null; // {id, action}
    this.secret = null; // {kind: 'password'|'otp', email, role, value}
    this.message = null; // {key, vars}
    this.build();
  }

  build() {
    const auditStatus = el('p', { id: 'audit-status', class: 'hint', role: 'status' });
    const auditError = el('p', { id: 'audit-error', class: 'error', role: 'alert' });
    const auditTable = el('table', { id: 'audit-table' });
    const more = el('button', { type: 'button', id: 'audit-more', class: 'secondary', onclick: () => this.loadAudit(true) });
    this.auditSection = el(
      'section',
      { id: 'audit', 'aria-labelledby': 'audit-heading' },
      el('h2', { id: 'audit-heading' }),
      el('p', { class: 'hint', 'data-key': 'dashboard.auditIntro' }),
      auditError,
      el('div', { class: 'table-scroll', tabindex: '0' }, auditTable),
      el('p', {}, more),
      auditStatus,
    );
    Object.assign(this, { auditStatus, auditError, auditTable, more });

    const staffStatus = el('p', { id: 'staff-status', class: 'ok', role: 'status', tabindex: '-1' });
    const staffError = el('p', { id: 'staff-error', class: 'error', role: 'alert' });
    const staffTable = el('table', { id: 'staff-table' });
    const secretBox = el('div', { id: 'staff-secret', class: 'panel secret', tabindex: '-1', hidden: true });
    const email = el('input', { id: 'new-staff-email', type: 'email', required: true, autocomplete: 'off', maxlength: '254' });
    const role = el('select', { id: 'new-staff-role' });
    const addButton = el('button', { type: 'submit', id: 'new-staff-submit' });
    const form = el(
      'form',
      { id: 'staff-add' },
      el('div', { class: 'controls' }, el('div', { class: 'wide' }, el('label', { for: 'new-staff-email', id: 'new-staff-email-label' }), email), el('div', {}, el('label', { for: 'new-staff-role', id: 'new-staff-role-label' }), role), el('div', {}, addButton)),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.add(email.value.trim(), role.value);
    });
    this.staffSection = el(
      'section',
      { id: 'staff', 'aria-labelledby': 'staff-heading' },
      el('h2', { id: 'staff-heading' }),
      el('p', { class: 'hint', 'data-key': 'dashboard.staffIntro' }),
      staffError,
      staffStatus,
      secretBox,
      el('div', { class: 'table-scroll', tabindex: '0' }, staffTable),
      el('h3', { id: 'staff-add-heading' }),
      form,
    );
    Object.assign(this, { staffStatus, staffError, staffTable, secretBox, email, role, addButton, form });
    this.host.append(this.staffSection, this.auditSection);
    this.render();
  }

  unmount() {
    this.auditSection.remove();
    this.staffSection.remove();
    this.secret = null;
  }

  async start() {
    await Promise.all([this.loadStaff(), this.loadAudit(false)]);
  }

  handled(error) {
    return this.context.onError(error);
  }

  // --- audit ---------------------------------------------------------------------------------

  async loadAudit(more) {
    const params = new URLSearchParams({ municipality: this.context.slug });
    if (more && this.audit.next) params.set('before', String(this.audit.next));
    this.more.disabled = true;
    try {
      const page = await api(`/v1/staff/audit?${params}`);
      this.audit.entries = more ? [...this.audit.entries, ...page.entries] : page.entries;
      this.audit.next = page.next_before;
      this.audit.loaded = true;
      this.audit.error = null;
    } catch (error) {
      if (this.handled(error)) return;
      this.audit.error = error.detail || error.message;
    }
    this.renderAudit();
  }

  renderAudit() {
    this.auditError.textContent = this.audit.error ? this.audit.error : '';
    const columns = ['dashboard.at', 'dashboard.who', 'dashboard.action', 'dashboard.municipality', 'dashboard.period', 'dashboard.detail'];
    const rows = this.audit.entries.map((entry) =>
      el(
        'tr',
        {},
        el('td', { class: 'nowrap', text: when(entry.at) }),
        el('td', { text: entry.staff }),
        el('td', {}, el('code', { text: entry.action })),
        el('td', { text: entry.municipality }),
        el('td', { text: entry.period || '' }),
        el('td', { text: entry.detail || '' }),
      ),
    );
    this.auditTable.replaceChildren(
      el('caption', { class: 'visually-hidden', text: t('dashboard.auditCaption', { municipality: this.context.municipalityName }) }),
      el('thead', {}, el('tr', {}, ...columns.map((key) => el('th', { scope: 'col', text: t(key) })))),
      el('tbody', {}, ...rows),
    );
    this.more.hidden = !this.audit.next;
    this.more.disabled = false;
    const count = this.audit.entries.length;
    if (!this.audit.loaded) this.auditStatus.textContent = '';
    else if (!count) this.auditStatus.textContent = t('dashboard.auditEmpty');
    else this.auditStatus.textContent = t(this.audit.next ? 'dashboard.auditCount' : 'dashboard.auditEnd', { count });
  }

  // --- staff ---------------------------------------------------------------------------------

  staffPath(suffix = '') {
    return `/v1/staff/municipalities/${encodeURIComponent(this.context.slug)}/staff${suffix}`;
  }

  async loadStaff() {
    try {
      const result = await api(this.staffPath());
      this.staff.accounts = result.staff;
      this.staff.error = null;
    } catch (error) {
      if (this.handled(error)) return;
      this.staff.error = error.detail || error.message;
    }
    this.renderStaff();
  }

  showError(error) {
    if (this.handled(error)) return;
    this.staffError.textContent = error.detail || error.message;
  }

  async add(email, role) {
    this.staffError.textContent = '';
    if (!this.email.checkValidity()) {
      this.email.reportValidity();
      return;
    }
    this.addButton.disabled = true;
    try {
      const created = await api(this.staffPath(), { method: 'POST', body: { email, role } });
      this.secret = { kind: 'password', email: created.email, role: created.role, value: created.initial_password };
      this.email.value = '';
      this.message = null;
      this.renderSecret();
      this.secretBox.focus();
      await Promise.all([this.loadStaff(), this.loadAudit(false)]);
    } catch (error) {
      this.showError(error);
    } finally {
      this.addButton.disabled = false;
    }
  }

  async act(account, action) {
    this.staffError.textContent = '';
    this.confirming = null;
    try {
      if (action === 'disable') {
        const updated = await api(this.staffPath(`/${account.id}/disable`), { method: 'POST' });
        this.staff.accounts = this.staff.accounts.map((a) => (a.id === updated.id ? updated : a));
        this.message = { key: 'dashboard.disabledDone', vars: { email: account.email } };
        this.renderStaff();
        this.staffStatus.focus();
      } else {
        const result = await api(this.staffPath(`/${account.id}/second-factor`), { method: 'POST' });
        this.secret = { kind: 'otp', email: account.email, value: result.otpauth_uri };
        this.message = null;
        this.renderSecret();
        this.secretBox.focus();
        await this.loadStaff();
      }
      await this.loadAudit(false);
    } catch (error) {
      this.renderStaff();
      this.showError(error);
    }
  }

  confirm(account, action) {
    this.confirming = { id: account.id, action };
    this.renderStaff();
    const button = this.staffTable.querySelector('button.confirm-yes');
    if (button) button.focus();
  }

  cancel(account) {
    this.confirming = null;
    this.renderStaff();
    const button = this.staffTable.querySelector(`button[data-account="${account.id}"]`);
    if (button) button.focus();
  }

  actions(account) {
    const self = account.email === this.context.me.email;
    if (this.confirming && this.confirming.id === account.id) {
      const action = this.confirming.action;
      const question = t(action === 'disable' ? 'dashboard.confirmDisable' : 'dashboard.confirmReset', { email: account.email });
      return el(
        'div',
        { class: 'confirm' },
        el('p', { text: question }),
        el('button', {
          type: 'button',
          class: 'danger confirm-yes',
          text: t('dashboard.confirmYes'),
          onclick: () => this.act(account, action),
        }),
        ' ',
        el('button', { type: 'button', class: 'secondary', text: t('dashboard.cancel'), onclick: () => this.cancel(account) }),
      );
    }
    if (self || account.disabled) return null;
    return el(
      'div',
      { class: 'row-actions' },
      el('button', {
        type: 'button',
        class: 'secondary',
        'data-account': account.id,
        'data-action': 'disable',
        'aria-label': t('dashboard.disableLabel', { email: account.email }),
        text: t('dashboard.disable'),
        onclick: () => this.confirm(account, 'disable'),
      }),
      el('button', {
        type: 'button',
        class: 'secondary',
        'data-action': 'second-factor',
        'aria-label': t('dashboard.resetFactorLabel', { email: account.email }),
        text: t('dashboard.resetFactor'),
        onclick: () => this.confirm(account, 'second-factor'),
      }),
    );
  }

  renderStaff() {
    if (this.staff.error) this.staffError.textContent = this.staff.error;
    this.staffStatus.textContent = this.message ? t(this.message.key, this.message.vars) : '';
    const columns = ['dashboard.staffEmail', 'dashboard.newStaffRole', 'dashboard.status', 'dashboard.secondFactor', 'dashboard.actions'];
    const rows = (this.staff.accounts || []).map((account) => {
      const self = account.email === this.context.me.email;
      return el(
        'tr',
        { 'data-email': account.email, class: account.disabled ? 'disabled' : undefined },
        el('td', {}, account.email, self ? ` ${t('dashboard.you')}` : ''),
        el('td', { text: t(`dashboard.role.${account.role}`) }),
        el('td', { class: 'staff-state', text: t(account.disabled ? 'dashboard.disabled' : 'dashboard.active') }),
        el('td', { text: t(account.second_factor ? 'dashboard.yes' : 'dashboard.no') }),
        el('td', {}, this.actions(account)),
      );
    });
    this.staffTable.replaceChildren(
      el('caption', { class: 'visually-hidden', text: t('dashboard.staffCaption', { municipality: this.context.municipalityName }) }),
      el('thead', {}, el('tr', {}, ...columns.map((key) => el('th', { scope: 'col', text: t(key) })))),
      el('tbody', {}, ...rows),
    );
  }

  renderSecret() {
    const secret = this.secret;
    this.secretBox.hidden = !secret;
    if (!secret) {
      this.secretBox.replaceChildren();
      return;
    }
    const intro =
      secret.kind === 'password'
        ? t('dashboard.initialPassword', { email: secret.email, role: t(`dashboard.role.${secret.role}`) })
        : t('dashboard.otpauth', { email: secret.email });
    const note = t(secret.kind === 'password' ? 'dashboard.initialPasswordNote' : 'dashboard.otpauthNote');
    this.secretBox.replaceChildren(
      el('p', { text: intro }),
      el('p', { class: 'receipt', id: 'staff-secret-value', text: secret.value }),
      el('p', { class: 'hint', text: note }),
      el('button', {
        type: 'button',
        class: 'secondary',
        text: t('dashboard.hideSecret'),
        onclick: () => {
          this.secret = null;
          this.renderSecret();
          this.email.focus();
        },
      }),
    );
  }

  render() {
    this.auditSection.querySelector('#audit-heading').textContent = t('dashboard.auditHeading');
    this.staffSection.querySelector('#staff-heading').textContent = t('dashboard.staffHeading');
    this.staffSection.querySelector('#staff-add-heading').textContent = t('dashboard.addStaffHeading');
    for (const node of [this.auditSection, this.staffSection]) {
      for (const hint of node.querySelectorAll('[data-key]')) hint.textContent = t(hint.dataset.key);
    }
    this.more.textContent = t('dashboard.auditMore');
    this.staffSection.querySelector('#new-staff-email-label').textContent = t('dashboard.newStaffEmail');
    this.staffSection.querySelector('#new-staff-role-label').textContent = t('dashboard.newStaffRole');
    this.addButton.textContent = t('dashboard.addStaff');
    const chosen = this.role.value || 'analyst';
    this.role.replaceChildren(...ROLES.map((role) => el('option', { value: role, text: t(`dashboard.role.${role}`) })));
    this.role.value = chosen;
    this.renderAudit();
    this.renderStaff();
    this.renderSecret();
  }
}
