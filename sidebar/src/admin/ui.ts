import { ElMessage, ElMessageBox } from 'element-plus';
import 'element-plus/es/components/message/style/css.mjs';
import 'element-plus/es/components/message-box/style/css.mjs';
import { useI18n } from 'vue-i18n';
import { describeError } from '../shared/errors.ts';

/** Feedback in the console: success toasts, errors in plain words, confirmations. */
export function useUi() {
  const { t } = useI18n();
  const ok = (message: string) => void ElMessage({ type: 'success', message, showClose: true });
  const fail = (error: unknown) => void ElMessage({ type: 'error', message: describeError(error, t), showClose: true, duration: 6000 });
  const confirm = (message: string, confirmText = t('common.confirm')): Promise<boolean> =>
    ElMessageBox.confirm(message, { confirmButtonText: confirmText, cancelButtonText: t('common.cancel'), type: 'warning' }).then(() => true, () => false);
  /** Runs an action: a toast on success, the error in plain words otherwise; true when it worked. */
  async function run(action: () => Promise<unknown>, success?: string): Promise<boolean> {
    try {
      await action();
      if (success) ok(success);
      return true;
    } catch (error) {
      fail(error);
      return false;
    }
  }
  return { t, ok, fail, confirm, run };
}
