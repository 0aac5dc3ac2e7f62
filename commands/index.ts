import type { CommandSpec } from '../src/chat/command.js';
import {
  accountAddCommand,
  accountDeleteCommand,
  accountListCommand,
  accountPauseCommand,
  accountResumeCommand,
  accountSetCommand,
  accountShowCommand,
} from './account.js';
import { apiKeyCreateCommand, apiKeyListCommand, apiKeyRevokeCommand, apiLinkCommand, apiLoginCommand } from './api.js';
import { banksCommand } from './banks.js';
import { doctorCommand } from './doctor.js';
import { helpCommand } from './help.js';
import { inviteCommand, linkCommand, membersCommand, membersRemoveCommand, membersRoleCommand, setupCommand, whoamiCommand } from './identity.js';
import { modeCommand } from './mode.js';
import {
  accountKillCommand,
  accountReactivateCommand,
  accountRestartCommand,
  accountScrapeCommand,
  accountStatusCommand,
  failuresCommand,
  movementsCommand,
  otpCommand,
} from './sessions.js';
import { notifyHereCommand, notifyOffCommand, webhookEventsCommand, webhookReplayCommand, webhookResumeCommand, webhookSecretCommand, webhookTestCommand } from './webhooks.js';
import { statementImportCommand, statementImportsCommand, statementPresetsCommand, statementPreviewCommand } from './statements.js';
import { accountPollCommand, pendingListCommand, pendingRematchCommand, pendingResolveCommand, pendingShowCommand } from './reconcile.js';

/** Every chat command, declared once; each adapter delivers them natively. */
export function allCommands(): CommandSpec[] {
  const commands: CommandSpec[] = [];
  commands.push(
    helpCommand(() => commands),
    whoamiCommand,
    setupCommand,
    linkCommand,
    inviteCommand,
    membersCommand,
    membersRemoveCommand,
    membersRoleCommand,
    banksCommand,
    modeCommand,
    accountAddCommand,
    accountListCommand,
    accountShowCommand,
    accountSetCommand,
    accountPauseCommand,
    accountResumeCommand,
    accountDeleteCommand,
    accountScrapeCommand,
    accountStatusCommand,
    accountRestartCommand,
    accountKillCommand,
    accountReactivateCommand,
    otpCommand,
    movementsCommand,
    failuresCommand,
    accountPollCommand,
    pendingListCommand,
    pendingShowCommand,
    pendingRematchCommand,
    pendingResolveCommand,
    webhookEventsCommand,
    webhookReplayCommand,
    webhookTestCommand,
    webhookSecretCommand,
    webhookResumeCommand,
    notifyHereCommand,
    notifyOffCommand,
    statementImportCommand,
    statementPreviewCommand,
    statementImportsCommand,
    statementPresetsCommand,
    apiLoginCommand,
    apiLinkCommand,
    apiKeyCreateCommand,
    apiKeyListCommand,
    apiKeyRevokeCommand,
    doctorCommand,
  );
  return commands;
}
